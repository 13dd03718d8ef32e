# Non-secret settings of development. The Linode token is LINODE_TOKEN in the environment.
region                     = "us-ord"
high_availability          = false
control_plane_allowed_ipv4 = ["203.0.113.0/24"] # replace with your operators' and CI's CIDRs
baseline_min_nodes         = 3
baseline_max_nodes         = 5
gpu_node_count             = 0
export_retention_days      = 7

domain          = "aistrale.example.com"
create_dns_zone = false
hostname        = "dev"

# Second apply, once ingress-nginx has its NodeBalancer (docs/deploy.md, step 7):
# ingress_ipv4 = "x.x.x.x"
