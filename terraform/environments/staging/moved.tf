# Before terraform/modules/platform this root called the five modules itself. These blocks move
# their state into the platform module on the next plan instead of destroying and re-creating
# the cluster, bucket and DNS zone. Delete them once every environment has applied.
moved {
  from = module.firewall
  to   = module.platform.module.firewall
}

moved {
  from = module.cluster
  to   = module.platform.module.cluster
}

moved {
  from = module.gpu_pool
  to   = module.platform.module.gpu_pool
}

moved {
  from = module.exports
  to   = module.platform.module.exports
}

moved {
  from = module.dns
  to   = module.platform.module.dns
}
