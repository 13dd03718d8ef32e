variable "cluster_id" {
  description = "LKE cluster the pool joins."
  type        = number
}

variable "node_type" {
  description = "Linode GPU plan (one RTX 6000 per g1-gpu-rtx6000-1 node)."
  type        = string
  default     = "g1-gpu-rtx6000-1"

  validation {
    condition     = startswith(var.node_type, "g1-gpu-rtx6000")
    error_message = "The model-backend chart is sized for RTX 6000 nodes (g1-gpu-rtx6000-*)."
  }
}

variable "node_count" {
  description = "Number of GPU nodes."
  type        = number
  default     = 2
}

variable "external_pool_tag" {
  description = "Must equal one of the cluster's external_pool_tags, or the cluster deletes this pool."
  type        = string
}

variable "firewall_id" {
  description = "Cloud Firewall attached to each GPU node."
  type        = number
  default     = null
}
