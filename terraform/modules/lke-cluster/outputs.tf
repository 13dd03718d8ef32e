output "id" {
  description = "LKE cluster ID."
  value       = linode_lke_cluster.this.id
}

output "api_endpoints" {
  description = "Kubernetes API endpoints."
  value       = linode_lke_cluster.this.api_endpoints
}

output "kubeconfig" {
  description = "Base64-encoded kubeconfig with cluster-admin rights."
  value       = linode_lke_cluster.this.kubeconfig
  sensitive   = true
}

output "external_pool_tag" {
  description = "Tag that node pools managed outside the cluster resource must carry."
  value       = var.external_pool_tag
}

output "baseline_instance_ids" {
  description = "Linode instance IDs of the baseline pool's current nodes."
  value       = [for node in linode_lke_cluster.this.pool[0].nodes : node.instance_id]
}
