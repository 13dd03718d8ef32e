# The analytics exports bucket and a key that can reach only that bucket. Versioning and
# lifecycle rules need object credentials: the environments set obj_use_temp_keys on the provider.
resource "linode_object_storage_bucket" "exports" {
  region     = var.region
  label      = var.bucket_name
  acl        = "private"
  versioning = true

  lifecycle_rule {
    id                                     = "expire-exports"
    enabled                                = true
    abort_incomplete_multipart_upload_days = 2

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      days = 7
    }
  }
}

resource "linode_object_storage_key" "analytics" {
  label = "${var.bucket_name}-analytics"

  bucket_access {
    bucket_name = linode_object_storage_bucket.exports.label
    region      = var.region
    permissions = "read_write"
  }
}
