"""Whether the deployment can serve: the database answers."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from handoff.store.db import Database


def database_reachable(db: Database) -> bool:
    try:
        with db.reading() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
