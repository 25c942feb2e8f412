"""A multi-tenant shop REST API on one DynamoDB table (dyntable's example application)."""
