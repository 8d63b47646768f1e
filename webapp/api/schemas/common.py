"""Bodies and answers more than one resource uses: a note, a reason, a problem."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class NoteSchema(Schema):
    note = fields.String(validate=validate.Length(max=500), metadata={"description": "Why"})


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Dict())
