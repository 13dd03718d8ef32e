output "cluster_id" {
  description = "LKE cluster ID."
  value       = module.cluster.id
}

output "kubeconfig" {
  description = "Base64 kubeconfig: terraform output -raw kubeconfig | base64 -d > kubeconfig."
  value       = module.cluster.kubeconfig
  sensitive   = true
}

output "gpu_instance_ids" {
  description = "GPU node instance IDs."
  value       = try(module.gpu_pool[0].instance_ids, [])
}

output "exports_bucket" {
  description = "AISTRALE_EXPORTS_S3_BUCKET for analytics."
  value       = module.exports.bucket
}

output "exports_endpoint_url" {
  description = "AISTRALE_EXPORTS_S3_ENDPOINT_URL for analytics."
  value       = module.exports.endpoint_url
}

output "exports_access_key" {
  description = "AWS_ACCESS_KEY_ID for analytics' secret."
  value       = module.exports.access_key
  sensitive   = true
}

output "exports_secret_key" {
  description = "AWS_SECRET_ACCESS_KEY for analytics' secret."
  value       = module.exports.secret_key
  sensitive   = true
}

output "fqdn" {
  description = "The environment's public host."
  value       = module.dns.fqdn
}
