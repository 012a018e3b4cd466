from lrbench.cli import app

app()
