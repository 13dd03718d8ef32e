# What differs between environments. The roots set these from their terraform.tfvars.

variable "environment" {
  description = "Environment name; labels are aistrale-<environment>, the bucket aistrale-<environment>-exports."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.environment))
    error_message = "A short lowercase name (it goes into cluster, firewall and bucket labels)."
  }
}

variable "region" {
  description = "Linode region of the cluster and the bucket."
  type        = string
}

variable "k8s_version" {
  description = "Kubernetes minor version (null: this default)."
  type        = string
  default     = "1.32"
  nullable    = false
}

variable "high_availability" {
  description = "HA control plane."
  type        = bool
}

variable "control_plane_allowed_ipv4" {
  description = "CIDRs allowed to reach the Kubernetes API."
  type        = list(string)
}

variable "baseline_min_nodes" {
  description = "Baseline pool autoscaler minimum."
  type        = number
}

variable "baseline_max_nodes" {
  description = "Baseline pool autoscaler maximum."
  type        = number
}

variable "gpu_node_type" {
  description = "GPU plan (null: this default)."
  type        = string
  default     = "g1-gpu-rtx6000-1"
  nullable    = false
}

variable "gpu_node_count" {
  description = "GPU nodes (0: no GPU pool)."
  type        = number
}

variable "export_retention_days" {
  description = "Days analytics exports are kept."
  type        = number
}

variable "domain" {
  description = "Public DNS zone."
  type        = string
}

variable "create_dns_zone" {
  description = "Whether this environment owns (creates) the zone."
  type        = bool
}

variable "soa_email" {
  description = "SOA contact when creating the zone."
  type        = string
  default     = null
}

variable "hostname" {
  description = "This environment's record in the zone (\"\" = apex)."
  type        = string
}

variable "ingress_ipv4" {
  description = "Ingress NodeBalancer IPv4, once known (second apply)."
  type        = string
  default     = null
}

variable "ingress_ipv6" {
  description = "Ingress NodeBalancer IPv6, once known."
  type        = string
  default     = null
}
