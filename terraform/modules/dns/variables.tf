variable "domain" {
  description = "DNS zone, e.g. aistrale.example.com."
  type        = string
}

variable "create_zone" {
  description = "Create the zone (one environment owns it); others look it up."
  type        = bool
  default     = false
}

variable "soa_email" {
  description = "SOA contact of the zone (only when create_zone)."
  type        = string
  default     = null
}

variable "hostname" {
  description = "Record name inside the zone: \"\" for the apex, \"dev\" for dev.<domain>."
  type        = string
}

variable "ingress_ipv4" {
  description = "IPv4 of the ingress NodeBalancer; null until ingress-nginx has one."
  type        = string
  default     = null
}

variable "ingress_ipv6" {
  description = "IPv6 of the ingress NodeBalancer."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags on the zone."
  type        = list(string)
  default     = []
}
