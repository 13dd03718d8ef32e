output "pool_id" {
  description = "Node pool ID."
  value       = linode_lke_node_pool.gpu.id
}

output "instance_ids" {
  description = "Linode instance IDs of the GPU nodes."
  value       = [for node in linode_lke_node_pool.gpu.nodes : node.instance_id]
}
