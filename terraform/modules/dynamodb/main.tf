# Owns the DynamoDB tables: the read projections of Postgres and the
# idempotency records. The key schemas are part of the code's contract
# (scripts/aws_resources.json is the source of truth; tests/infra checks this
# map against it), so they are fixed here rather than configurable.
locals {
  tables = {
    ProductCatalog = {
      hash_key      = { name = "product_id", type = "N" }
      range_key     = null
      ttl_attribute = null
      gsis = [
        { name = "gsi_listing", hash_key = { name = "listing", type = "S" }, range_key = { name = "product_id", type = "N" } },
        { name = "gsi_category", hash_key = { name = "category", type = "S" }, range_key = { name = "product_id", type = "N" } },
      ]
    }
    UserCart = {
      hash_key      = { name = "user_id", type = "N" }
      range_key     = null
      ttl_attribute = null
      gsis          = []
    }
    ProductImagesMeta = {
      hash_key      = { name = "entity", type = "S" }
      range_key     = { name = "image_id", type = "S" }
      ttl_attribute = null
      gsis          = []
    }
    OrderEvents = {
      hash_key      = { name = "order_id", type = "N" }
      range_key     = { name = "event_key", type = "S" }
      ttl_attribute = null
      gsis          = []
    }
    Idempotency = {
      hash_key      = { name = "pk", type = "S" }
      range_key     = null
      ttl_attribute = "expires_at"
      gsis          = []
    }
  }

  # Every attribute used by a table or index key, declared once per table.
  attributes = {
    for name, t in local.tables : name => {
      for a in concat(
        [t.hash_key],
        t.range_key == null ? [] : [t.range_key],
        flatten([for g in t.gsis : [g.hash_key, g.range_key]]),
      ) : a.name => a.type...
    }
  }
}

resource "aws_dynamodb_table" "this" {
  for_each = local.tables

  name                        = "${var.name_prefix}${each.key}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = each.value.hash_key.name
  range_key                   = each.value.range_key == null ? null : each.value.range_key.name
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.attributes[each.key]
    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = each.value.gsis
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.hash_key.name
      range_key       = global_secondary_index.value.range_key.name
      projection_type = "ALL"
    }
  }

  dynamic "ttl" {
    for_each = each.value.ttl_attribute == null ? [] : [each.value.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
