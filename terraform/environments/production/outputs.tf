# Pass-through of terraform/modules/platform's outputs (described there), so that
# `terraform output -raw <name>` works in this directory. Secrets stay sensitive.
output "cluster_id" { value = module.platform.cluster_id }
output "gpu_instance_ids" { value = module.platform.gpu_instance_ids }
output "exports_bucket" { value = module.platform.exports_bucket }
output "exports_endpoint_url" { value = module.platform.exports_endpoint_url }
output "fqdn" { value = module.platform.fqdn }

output "kubeconfig" {
  value     = module.platform.kubeconfig
  sensitive = true
}

output "exports_access_key" {
  value     = module.platform.exports_access_key
  sensitive = true
}

output "exports_secret_key" {
  value     = module.platform.exports_secret_key
  sensitive = true
}
