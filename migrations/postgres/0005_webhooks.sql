-- Webhook assets: where webhook nodes send requests and how. Secrets (auth_secret,
-- signing secrets) are never returned by the API; the signing secret is shown only through
-- its own endpoint, for configuring receivers.
CREATE TABLE webhooks (
    id                          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                        TEXT    NOT NULL,
    url                         TEXT    NOT NULL,
    method                      TEXT    NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH')),
    body_format                 TEXT    NOT NULL CHECK (body_format IN ('json', 'form', 'query')),
    contact_fields              TEXT    NOT NULL DEFAULT '[]',
    custom_data                 TEXT    NOT NULL DEFAULT '[]',
    headers                     TEXT    NOT NULL DEFAULT '[]',
    auth_type                   TEXT    NOT NULL DEFAULT 'none'
                                        CHECK (auth_type IN ('none', 'basic', 'bearer', 'api_key')),
    auth_name                   TEXT,
    auth_secret                 TEXT,
    signing_secret              TEXT    NOT NULL,
    previous_signing_secret     TEXT,
    previous_secret_expires_at  BIGINT,
    retry_window_hours          BIGINT  NOT NULL DEFAULT 12,
    enabled                     BIGINT  NOT NULL DEFAULT 1,
    disabled_reason             TEXT,
    created_at                  BIGINT  NOT NULL,
    updated_at                  BIGINT  NOT NULL
);
