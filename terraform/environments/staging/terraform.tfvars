# Non-secret settings of staging. The Linode token is LINODE_TOKEN in the environment.
region                     = "us-ord"
high_availability          = true
control_plane_allowed_ipv4 = ["203.0.113.0/24"] # replace with your operators' and CI's CIDRs
baseline_min_nodes         = 3
baseline_max_nodes         = 10
gpu_node_count             = 1
export_retention_days      = 14

domain          = "aistrale.example.com"
create_dns_zone = false
hostname        = "staging"

# Second apply, once ingress-nginx has its NodeBalancer (docs/deploy.md, step 7):
# ingress_ipv4 = "x.x.x.x"
