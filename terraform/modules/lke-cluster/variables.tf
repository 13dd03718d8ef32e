variable "label" {
  description = "Cluster label, e.g. aistrale-production."
  type        = string
}

variable "region" {
  description = "Linode region, e.g. us-ord."
  type        = string
}

variable "k8s_version" {
  description = "Kubernetes minor version (LKE picks the latest patch)."
  type        = string
  default     = "1.32"
}

variable "tags" {
  description = "Tags on the cluster."
  type        = list(string)
  default     = []
}

variable "high_availability" {
  description = "HA control plane (irreversible once enabled)."
  type        = bool
  default     = true
}

variable "control_plane_allowed_ipv4" {
  description = "CIDRs allowed to reach the Kubernetes API (operators, CI, Argo CD if outside)."
  type        = list(string)

  validation {
    condition     = length(var.control_plane_allowed_ipv4) > 0 && !contains(var.control_plane_allowed_ipv4, "0.0.0.0/0")
    error_message = "List the operators' CIDRs; the API server is never open to 0.0.0.0/0."
  }
}

variable "control_plane_allowed_ipv6" {
  description = "IPv6 CIDRs allowed to reach the Kubernetes API."
  type        = list(string)
  default     = []
}

variable "baseline_node_type" {
  description = "Linode plan of the baseline pool."
  type        = string
  default     = "g6-standard-8"
}

variable "baseline_min_nodes" {
  description = "Autoscaler minimum of the baseline pool."
  type        = number
  default     = 3
}

variable "baseline_max_nodes" {
  description = "Autoscaler maximum of the baseline pool."
  type        = number
  default     = 10
}

variable "external_pool_tag" {
  description = "Tag marking node pools managed outside this resource (the GPU pool)."
  type        = string
  default     = "aistrale-external-pool"
}

variable "firewall_id" {
  description = "Cloud Firewall attached to the baseline pool's nodes."
  type        = number
  default     = null
}
