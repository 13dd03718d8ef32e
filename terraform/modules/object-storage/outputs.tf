output "bucket" {
  description = "Bucket name (AISTRALE_EXPORTS_S3_BUCKET)."
  value       = linode_object_storage_bucket.exports.label
}

output "endpoint_url" {
  description = "S3 endpoint (AISTRALE_EXPORTS_S3_ENDPOINT_URL)."
  value       = "https://${var.region}-1.linodeobjects.com"
}

output "access_key" {
  description = "Access key of the analytics exports key."
  value       = linode_object_storage_key.analytics.access_key
  sensitive   = true
}

output "secret_key" {
  description = "Secret key of the analytics exports key."
  value       = linode_object_storage_key.analytics.secret_key
  sensitive   = true
}
