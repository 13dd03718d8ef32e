variable "region" {
  description = "Object Storage region (the cluster's region)."
  type        = string
}

variable "bucket_name" {
  description = "Bucket label, globally unique within the region."
  type        = string
}

variable "retention_days" {
  description = "Days an export stays in the bucket."
  type        = number
  default     = 30
}
