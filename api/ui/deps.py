"""The database the pages read and write, and the names they show, as dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from handoff.services.directory import Directory, load_directory
from handoff.store.db import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.ui_database
    return db


DbDep = Annotated[Database, Depends(database)]


def directory(db: DbDep) -> Directory:
    return load_directory(db)


DirectoryDep = Annotated[Directory, Depends(directory)]
