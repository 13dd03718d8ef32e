# The values terraform.tfvars sets. Their meaning, defaults and checks are in
# terraform/modules/platform/variables.tf (null here: the module's default).
variable "region" { type = string }
variable "high_availability" { type = bool }
variable "control_plane_allowed_ipv4" { type = list(string) }
variable "baseline_min_nodes" { type = number }
variable "baseline_max_nodes" { type = number }
variable "gpu_node_count" { type = number }
variable "export_retention_days" { type = number }
variable "domain" { type = string }
variable "create_dns_zone" { type = bool }
variable "hostname" { type = string }

variable "k8s_version" {
  type    = string
  default = null
}

variable "gpu_node_type" {
  type    = string
  default = null
}

variable "soa_email" {
  type    = string
  default = null
}

variable "ingress_ipv4" {
  type    = string
  default = null
}

variable "ingress_ipv6" {
  type    = string
  default = null
}
