# AISTRALE staging: the whole environment is terraform/modules/platform, called once with the
# values of terraform.tfvars.
module "platform" {
  source = "../../modules/platform"

  environment                = "staging"
  region                     = var.region
  k8s_version                = var.k8s_version
  high_availability          = var.high_availability
  control_plane_allowed_ipv4 = var.control_plane_allowed_ipv4
  baseline_min_nodes         = var.baseline_min_nodes
  baseline_max_nodes         = var.baseline_max_nodes
  gpu_node_type              = var.gpu_node_type
  gpu_node_count             = var.gpu_node_count
  export_retention_days      = var.export_retention_days
  domain                     = var.domain
  create_dns_zone            = var.create_dns_zone
  soa_email                  = var.soa_email
  hostname                   = var.hostname
  ingress_ipv4               = var.ingress_ipv4
  ingress_ipv6               = var.ingress_ipv6
}
