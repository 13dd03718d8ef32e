terraform {
  required_version = ">= 1.6.0"

  required_providers {
    linode = {
      source  = "linode/linode"
      version = ">= 2.31.0, < 4.0.0"
    }
  }

  # State in Linode Object Storage. The bucket and its keys are given at init, never in files:
  #   AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
  #     terraform init -backend-config="bucket=<state bucket>"
  backend "s3" {
    key                         = "aistrale/production.tfstate"
    region                      = "us-east-1"
    endpoints                   = { s3 = "https://us-ord-1.linodeobjects.com" }
    use_path_style              = true
    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}

# The API token comes from the LINODE_TOKEN environment variable, never from a file.
provider "linode" {
  # Short-lived object keys for the bucket's versioning and lifecycle rules.
  obj_use_temp_keys = true
}
