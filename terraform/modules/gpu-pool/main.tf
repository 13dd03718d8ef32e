# The GPU node pool, managed apart from the cluster resource (which ignores it through its
# external_pool_tags). Tainted so that only pods tolerating nvidia.com/gpu (the vLLM pools of
# charts/model-backend) land on these expensive nodes, and labelled for their nodeSelector.
resource "linode_lke_node_pool" "gpu" {
  cluster_id = var.cluster_id
  type       = var.node_type
  node_count = var.node_count

  tags   = [var.external_pool_tag, "aistrale-gpu"]
  labels = { "aistrale.io/pool" = "gpu" }

  taint {
    effect = "NoSchedule"
    key    = "nvidia.com/gpu"
    value  = "true"
  }
}

# Node-level pool firewalls cannot be set on a separately managed pool: attach each node.
# Re-apply after LKE recycles a GPU node (docs/deploy.md, "Day 2").
resource "linode_firewall_device" "gpu" {
  count = var.firewall_id == null ? 0 : var.node_count

  firewall_id = var.firewall_id
  entity_id   = linode_lke_node_pool.gpu.nodes[count.index].instance_id
  entity_type = "linode"
}
