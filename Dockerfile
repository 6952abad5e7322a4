# The service image: the abparts console script and nothing else. Built by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY ledger ./ledger
COPY projections ./projections
COPY api ./api
# A plain install: the migrations ship inside it (package abparts_migrations, from alembic/).
RUN pip install --no-cache-dir . && useradd --system abparts
USER abparts
EXPOSE 8000
CMD ["abparts", "serve", "--host", "0.0.0.0"]
