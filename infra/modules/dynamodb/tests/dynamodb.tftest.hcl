# The table module with a mocked AWS provider: key schema from a manifest, on-demand, PITR, SSE.

mock_provider "aws" {}

variables {
  name      = "storefront-test-catalog"
  hash_key  = { name = "pk", type = "S" }
  range_key = { name = "sk", type = "S" }
  indexes = [
    {
      name      = "gsi1"
      hash_key  = { name = "gsi1pk", type = "S" }
      range_key = { name = "gsi1sk", type = "S" }
    },
    {
      name       = "by-sk"
      hash_key   = { name = "sk", type = "S" }
      projection = "KEYS_ONLY"
    },
  ]
}

run "table_follows_the_manifest" {
  command = apply

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST"
    error_message = "Tables are on-demand."
  }

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "pk" && aws_dynamodb_table.this.range_key == "sk"
    error_message = "Key schema must come from the input."
  }

  assert {
    condition     = toset([for a in aws_dynamodb_table.this.attribute : a.name]) == toset(["pk", "sk", "gsi1pk", "gsi1sk"])
    error_message = "Each key attribute is declared exactly once (sk is shared by the table and an index)."
  }

  assert {
    condition     = length(aws_dynamodb_table.this.global_secondary_index) == 2
    error_message = "Both indexes expected."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled && aws_dynamodb_table.this.server_side_encryption[0].enabled
    error_message = "PITR and server-side encryption must be on."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "Deletion protection is on by default."
  }
}

run "hash_only_table_without_protection" {
  command = apply

  variables {
    range_key           = null
    indexes             = []
    deletion_protection = false
  }

  assert {
    condition     = aws_dynamodb_table.this.range_key == null && length(aws_dynamodb_table.this.attribute) == 1
    error_message = "A hash-only table has one attribute and no range key."
  }

  assert {
    condition     = !aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "deletion_protection = false must reach the table."
  }
}

run "bad_key_type_is_refused" {
  command = plan

  variables {
    hash_key = { name = "pk", type = "X" }
  }

  expect_failures = [var.hash_key]
}

run "duplicate_index_names_are_refused" {
  command = plan

  variables {
    indexes = [
      { name = "gsi1", hash_key = { name = "a", type = "S" } },
      { name = "gsi1", hash_key = { name = "b", type = "S" } },
    ]
  }

  expect_failures = [var.indexes]
}

run "bad_projection_is_refused" {
  command = plan

  variables {
    indexes = [{ name = "gsi1", hash_key = { name = "a", type = "S" }, projection = "SOME" }]
  }

  expect_failures = [var.indexes]
}

run "ttl_follows_the_manifest" {
  command = apply

  variables {
    ttl_attribute = "expires_at"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.ttl).enabled && one(aws_dynamodb_table.this.ttl).attribute_name == "expires_at"
    error_message = "A manifest's ttl_attribute turns DynamoDB TTL on for that attribute."
  }
}

run "ttl_attribute_must_be_a_name" {
  command = plan

  variables {
    ttl_attribute = "expires at"
  }

  expect_failures = [var.ttl_attribute]
}
