# Cloud Firewall for the LKE worker nodes: only what LKE itself needs from its private network,
# and NodeBalancer traffic to NodePorts. Public traffic reaches the cluster through the ingress's
# NodeBalancer only.
resource "linode_firewall" "nodes" {
  label = var.label
  tags  = var.tags

  inbound_policy  = "DROP"
  outbound_policy = "ACCEPT"

  inbound {
    label    = "kubelet-health"
    action   = "ACCEPT"
    protocol = "TCP"
    ports    = "10250, 10256"
    ipv4     = [var.lke_private_cidr]
  }

  inbound {
    label    = "wireguard-kubectl-proxy"
    action   = "ACCEPT"
    protocol = "UDP"
    ports    = "51820"
    ipv4     = [var.lke_private_cidr]
  }

  inbound {
    label    = "calico-bgp"
    action   = "ACCEPT"
    protocol = "TCP"
    ports    = "179"
    ipv4     = [var.lke_private_cidr]
  }

  inbound {
    label    = "calico-ipip"
    action   = "ACCEPT"
    protocol = "IPENCAP"
    ipv4     = [var.lke_private_cidr]
  }

  inbound {
    label    = "nodebalancer-nodeports-tcp"
    action   = "ACCEPT"
    protocol = "TCP"
    ports    = "30000-32767"
    ipv4     = [var.nodebalancer_cidr]
  }

  inbound {
    label    = "nodebalancer-nodeports-udp"
    action   = "ACCEPT"
    protocol = "UDP"
    ports    = "30000-32767"
    ipv4     = [var.nodebalancer_cidr]
  }
}
