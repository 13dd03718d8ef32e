variable "label" {
  description = "Firewall label."
  type        = string
}

variable "tags" {
  description = "Tags on the firewall."
  type        = list(string)
  default     = []
}

variable "lke_private_cidr" {
  description = "LKE's private node network."
  type        = string
  default     = "192.168.128.0/17"
}

variable "nodebalancer_cidr" {
  description = "Source range of Linode NodeBalancers."
  type        = string
  default     = "192.168.255.0/24"
}
