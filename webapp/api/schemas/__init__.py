"""What the API shows of each record and what its requests take (marshmallow; the OpenAPI
document is built from these): one module per resource, as the API's views are split, and the
field types they share in field_types.
"""
