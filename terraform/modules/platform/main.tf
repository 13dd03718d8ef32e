# One AISTRALE environment: LKE cluster (baseline pool), GPU pool, node firewall, exports bucket,
# DNS. The environment roots (terraform/environments/<env>) call this once with their values.
locals {
  # Also the exports bucket's prefix: the overlays' AISTRALE_EXPORTS_S3_BUCKET is aistrale-<env>-exports.
  name = "aistrale-${var.environment}"
  tags = ["aistrale", "env:${var.environment}"]
}

module "firewall" {
  source = "../firewall"

  label = "${local.name}-nodes"
  tags  = local.tags
}

module "cluster" {
  source = "../lke-cluster"

  label                      = local.name
  region                     = var.region
  k8s_version                = var.k8s_version
  tags                       = local.tags
  high_availability          = var.high_availability
  control_plane_allowed_ipv4 = var.control_plane_allowed_ipv4
  baseline_node_type         = "g6-standard-8"
  baseline_min_nodes         = var.baseline_min_nodes
  baseline_max_nodes         = var.baseline_max_nodes
  firewall_id                = module.firewall.id
}

module "gpu_pool" {
  source = "../gpu-pool"
  count  = var.gpu_node_count > 0 ? 1 : 0

  cluster_id        = module.cluster.id
  node_type         = var.gpu_node_type
  node_count        = var.gpu_node_count
  external_pool_tag = module.cluster.external_pool_tag
  firewall_id       = module.firewall.id
}

module "exports" {
  source = "../object-storage"

  region         = var.region
  bucket_name    = "${local.name}-exports"
  retention_days = var.export_retention_days
}

module "dns" {
  source = "../dns"

  domain       = var.domain
  create_zone  = var.create_dns_zone
  soa_email    = var.soa_email
  hostname     = var.hostname
  ingress_ipv4 = var.ingress_ipv4
  ingress_ipv6 = var.ingress_ipv6
  tags         = local.tags
}
