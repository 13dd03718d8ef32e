output "id" {
  description = "Firewall ID."
  value       = linode_firewall.nodes.id
}
