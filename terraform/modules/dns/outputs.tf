output "fqdn" {
  description = "The environment's public host."
  value       = var.hostname == "" ? var.domain : "${var.hostname}.${var.domain}"
}

output "domain_id" {
  description = "Zone ID."
  value       = local.domain_id
}
