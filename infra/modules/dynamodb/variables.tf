variable "name" {
  description = "Table name (<project>-<env>-<service>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "name must be 3-255 characters of letters, digits, '_', '-' or '.'."
  }
}

variable "hash_key" {
  description = "Partition key of the table: name and type (S, N or B)."
  type = object({
    name = string
    type = string
  })

  validation {
    condition     = contains(["S", "N", "B"], var.hash_key.type)
    error_message = "hash_key.type must be S, N or B."
  }
}

variable "range_key" {
  description = "Sort key of the table (null for a partition-key-only table)."
  type = object({
    name = string
    type = string
  })
  default = null

  validation {
    condition     = var.range_key == null || contains(["S", "N", "B"], try(var.range_key.type, ""))
    error_message = "range_key.type must be S, N or B."
  }
}

variable "indexes" {
  description = "Global secondary indexes: name, hash_key, optional range_key, projection (ALL or KEYS_ONLY)."
  type = list(object({
    name       = string
    hash_key   = object({ name = string, type = string })
    range_key  = optional(object({ name = string, type = string }))
    projection = optional(string, "ALL")
  }))
  default = []

  validation {
    condition = alltrue([
      for i in var.indexes : contains(["ALL", "KEYS_ONLY"], i.projection)
      && contains(["S", "N", "B"], i.hash_key.type)
      && (i.range_key == null || contains(["S", "N", "B"], try(i.range_key.type, "")))
    ])
    error_message = "Each index needs projection ALL or KEYS_ONLY and key types S, N or B."
  }

  validation {
    condition     = length(distinct([for i in var.indexes : i.name])) == length(var.indexes)
    error_message = "Index names must be unique."
  }
}

variable "ttl_attribute" {
  description = "Number attribute (epoch seconds) after which DynamoDB's TTL deletes an item; null: no TTL (manifest table.ttl_attribute)."
  type        = string
  default     = null

  validation {
    condition     = var.ttl_attribute == null || can(regex("^[A-Za-z_][A-Za-z0-9_]{0,63}$", var.ttl_attribute))
    error_message = "ttl_attribute must be an attribute name (letters, digits, '_')."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the table (true in prod)."
  type        = bool
  default     = true
}

variable "point_in_time_recovery" {
  description = "Continuous backups with point-in-time recovery."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for the table (provider default_tags still apply)."
  type        = map(string)
  default     = {}
}
