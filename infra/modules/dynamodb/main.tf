# One on-demand DynamoDB table with its key schema and global secondary indexes taken
# verbatim from a service manifest; PITR and server-side encryption always on; TTL when the
# manifest names a ttl_attribute.

locals {
  key_attributes = concat(
    [var.hash_key],
    var.range_key == null ? [] : [var.range_key],
    flatten([for i in var.indexes : concat([i.hash_key], i.range_key == null ? [] : [i.range_key])]),
  )
  # Each attribute once (a name may be used by the table and an index).
  attributes = { for a in local.key_attributes : a.name => a.type... }
}

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.hash_key.name
  range_key                   = try(var.range_key.name, null)
  deletion_protection_enabled = var.deletion_protection

  dynamic "attribute" {
    for_each = local.attributes
    content {
      name = attribute.key
      type = attribute.value[0]
    }
  }

  dynamic "global_secondary_index" {
    for_each = var.indexes
    content {
      name            = global_secondary_index.value.name
      hash_key        = global_secondary_index.value.hash_key.name
      range_key       = try(global_secondary_index.value.range_key.name, null)
      projection_type = global_secondary_index.value.projection
    }
  }

  # Expired items are deleted by DynamoDB in the background (typically within days); readers
  # treat an item past its time as gone (e.g. services/orders/orders/claims.py).
  dynamic "ttl" {
    for_each = var.ttl_attribute == null ? [] : [var.ttl_attribute]
    content {
      enabled        = true
      attribute_name = ttl.value
    }
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = alltrue([for name, types in local.attributes : length(distinct(types)) == 1])
      error_message = "A key attribute is declared with two different types."
    }
  }
}
