# Owns the identity of the platform: the user pool (e-mail is the user name,
# the password policy the API's validation mirrors), the public app client the
# users service signs in through, and the `admin` group whose membership
# arrives in the access token's cognito:groups claim. Threat protection
# (advanced_security_mode AUDIT or ENFORCED) exists only on the PLUS tier, so
# the tier follows the mode: ESSENTIALS when it is OFF.
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

resource "aws_cognito_user_pool" "this" {
  name                     = "${var.name_prefix}shop"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "OFF"
  user_pool_tier           = var.advanced_security_mode == "OFF" ? "ESSENTIALS" : "PLUS"

  username_configuration {
    case_sensitive = false
  }

  password_policy {
    minimum_length                   = 8
    require_uppercase                = true
    require_lowercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 7
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_pool_add_ons {
    advanced_security_mode = var.advanced_security_mode
  }

  # Cognito's own sender (COGNITO_DEFAULT) allows 50 mails a day per account:
  # enough for dev, not for sign-ups and password resets in prod, which send
  # through SES (EmailSendingAccount DEVELOPER) from a verified identity.
  email_configuration {
    email_sending_account = var.email == null ? "COGNITO_DEFAULT" : "DEVELOPER"
    source_arn            = var.email == null ? null : "arn:${data.aws_partition.current.partition}:ses:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:identity/${var.email.ses_identity}"
    from_email_address    = var.email == null ? null : var.email.from_address
  }

  schema {
    name                = "email"
    attribute_data_type = "String"
    required            = true
    mutable             = true

    string_attribute_constraints {
      min_length = 3
      max_length = 254
    }
  }
}

resource "aws_cognito_user_pool_client" "app" {
  name         = "${var.name_prefix}shop-app"
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret = false
  # ADMIN_USER_PASSWORD_AUTH: the users service signs in server side
  # (AdminInitiateAuth with the caller's context data for threat protection).
  explicit_auth_flows = [
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
  ]

  access_token_validity  = 60
  id_token_validity      = 60
  refresh_token_validity = 30

  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "days"
  }

  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
}

resource "aws_cognito_user_group" "admin" {
  name         = "admin"
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "Administrators: manage products, inventory, shipments and users."
}
