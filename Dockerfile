# The service image: the abparts console script and nothing else. Built by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md alembic.ini ./
COPY alembic ./alembic
COPY ledger ./ledger
COPY projections ./projections
COPY api ./api
# Editable: the migrations in /app/alembic are found beside the packages.
RUN pip install --no-cache-dir -e . && useradd --system abparts
USER abparts
EXPOSE 8000
CMD ["abparts", "serve", "--host", "0.0.0.0"]
