# An LKE cluster with its baseline (CPU) node pool. Other pools (the GPU pool) are separate
# linode_lke_node_pool resources tagged with `external_pool_tag`; external_pool_tags tells this
# resource to leave them alone instead of deleting them on the next apply.
resource "linode_lke_cluster" "this" {
  label       = var.label
  k8s_version = var.k8s_version
  region      = var.region
  tags        = var.tags

  external_pool_tags = [var.external_pool_tag]

  control_plane {
    high_availability = var.high_availability

    acl {
      enabled = true
      addresses {
        ipv4 = var.control_plane_allowed_ipv4
        ipv6 = var.control_plane_allowed_ipv6
      }
    }
  }

  pool {
    type        = var.baseline_node_type
    labels      = { "aistrale.io/pool" = "baseline" }
    tags        = ["aistrale-baseline"]
    firewall_id = var.firewall_id

    autoscaler {
      min = var.baseline_min_nodes
      max = var.baseline_max_nodes
    }
  }

  lifecycle {
    # The autoscaler owns the node count.
    ignore_changes = [pool[0].count]

    precondition {
      condition     = var.baseline_min_nodes <= var.baseline_max_nodes
      error_message = "baseline_min_nodes must not exceed baseline_max_nodes."
    }
  }
}
