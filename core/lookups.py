"""`field__any=[...]`: membership in a list of values already of the field's type, as one
array parameter on PostgreSQL (`= ANY(%s)`).

The roll-up narrows its queries to hundreds of communes and teams at once: `__in` gives
each value a placeholder and prepares each one through the field (for a foreign key,
through the related model's key), which costs milliseconds per query in Python and in
the server's parser. The values here come from the database (ids and days the roll-up
read), so they need no preparing. Other databases get the same IN list as `__in`.
"""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]
        if not self.rhs:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*lhs_params, *self.rhs]


Field.register_lookup(AnyOf)
# Relations keep lookups of their own (they do not inherit Field's).
ForeignObject.register_lookup(AnyOf)
