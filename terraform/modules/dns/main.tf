# The public zone and the one host of an environment. The A/AAAA records point at the ingress's
# NodeBalancer, known only once ingress-nginx runs: apply once without ingress addresses, then
# again with them (docs/deploy.md, step 7).
resource "linode_domain" "zone" {
  count = var.create_zone ? 1 : 0

  domain    = var.domain
  type      = "master"
  soa_email = var.soa_email
  ttl_sec   = 300
  tags      = var.tags
}

data "linode_domain" "zone" {
  count = var.create_zone ? 0 : 1

  domain = var.domain
}

locals {
  domain_id = var.create_zone ? linode_domain.zone[0].id : data.linode_domain.zone[0].id
}

resource "linode_domain_record" "ingress_a" {
  count = var.ingress_ipv4 == null ? 0 : 1

  domain_id   = local.domain_id
  name        = var.hostname
  record_type = "A"
  target      = var.ingress_ipv4
  ttl_sec     = 300
}

resource "linode_domain_record" "ingress_aaaa" {
  count = var.ingress_ipv6 == null ? 0 : 1

  domain_id   = local.domain_id
  name        = var.hostname
  record_type = "AAAA"
  target      = var.ingress_ipv6
  ttl_sec     = 300
}
