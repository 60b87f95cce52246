//! Table definitions shared by both backends (kept by hand, in step with
//! `migrations/sqlite` and `migrations/postgres`).

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        is_instance_owner -> Bool,
        created_at -> Timestamp,
        password_changed_at -> Timestamp,
        email_verified_at -> Nullable<Timestamp>,
        /// `display_name` lower-cased: prefix search and name order.
        name_key -> Text,
    }
}

diesel::table! {
    organisations (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    memberships (org_id, user_id) {
        org_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        org_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        accepted_by -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
        email_token_hash -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        token_hash -> Text,
        user_id -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Text,
        user_agent -> Text,
        state -> Text,
    }
}

diesel::table! {
    instance_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        org_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        action -> Text,
        target -> Nullable<Text>,
        detail -> Text,
        ip -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        created_at -> Timestamp,
        /// `name` lower-cased: prefix search and name order.
        name_key -> Text,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    apps (id) {
        id -> Text,
        org_id -> Text,
        owner_user_id -> Nullable<Text>,
        owner_team_id -> Nullable<Text>,
        name -> Text,
        description -> Text,
        callback_urls -> Text,
        auth_type -> Text,
        client_id -> Nullable<Text>,
        status -> Text,
        status_reason -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        name_lower -> Text,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        app_id -> Text,
        kind -> Text,
        label -> Text,
        secret_hash -> Nullable<Text>,
        prefix -> Text,
        last4 -> Text,
        public_key -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        /// CIDRs the credential may be used from, separated by spaces; '' = anywhere.
        allowed_ips -> Text,
    }
}

diesel::table! {
    form_nonces (nonce_hash) {
        nonce_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        result -> Nullable<Text>,
    }
}

diesel::table! {
    products (id) {
        id -> Text,
        org_id -> Text,
        slug -> Text,
        name -> Text,
        summary -> Text,
        docs_markdown -> Text,
        openapi_json -> Nullable<Text>,
        visibility -> Text,
        approval_mode -> Text,
        quota_limit -> Nullable<BigInt>,
        quota_period -> Nullable<Text>,
        rate_limit_per_second -> Nullable<BigInt>,
        max_credential_lifetime_seconds -> Nullable<BigInt>,
        scopes -> Text,
        archived_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        openapi_html -> Nullable<Text>,
        /// `name` lower-cased: name order.
        name_key -> Text,
        /// `docs_markdown` rendered and sanitised when saved; NULL until then.
        docs_html -> Nullable<Text>,
    }
}

diesel::table! {
    product_teams (product_id, team_id) {
        product_id -> Text,
        team_id -> Text,
    }
}

diesel::table! {
    subscriptions (id) {
        id -> Text,
        app_id -> Text,
        product_id -> Text,
        status -> Text,
        note -> Text,
        reason -> Text,
        requested_by -> Text,
        decided_by -> Nullable<Text>,
        decided_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        org_id -> Text,
    }
}

diesel::table! {
    approval_settings (org_id) {
        org_id -> Text,
        mode -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    approval_rules (id) {
        id -> Text,
        org_id -> Text,
        kind -> Text,
        value -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        org_id -> Nullable<Text>,
        kind -> Text,
        title -> Text,
        body -> Text,
        link -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notification_preferences (user_id, kind) {
        user_id -> Text,
        kind -> Text,
        email -> Bool,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Text,
        to_address -> Text,
        subject -> Text,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Text,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        link_kind -> Nullable<Text>,
        link_ref -> Nullable<Text>,
    }
}

diesel::table! {
    user_tokens (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        token_hash -> Nullable<Text>,
        email -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    credential_notices (credential_id, kind) {
        credential_id -> Text,
        kind -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        org_id -> Text,
        user_id -> Text,
        kind -> Text,
        name -> Text,
        access -> Text,
        token_hash -> Text,
        prefix -> Text,
        last4 -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (token_id, key_hash) {
        token_id -> Text,
        key_hash -> Text,
        fingerprint -> Text,
        status -> Integer,
        response -> Text,
        location -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    gateway_tokens (id) {
        id -> Text,
        org_id -> Text,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        last4 -> Text,
        default_product_id -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    quota_counts (app_id, product_id, window_start) {
        app_id -> Text,
        product_id -> Text,
        window_start -> Timestamp,
        count -> BigInt,
    }
}

diesel::table! {
    /// The change feed (`models::changes`): ids ascend; on PostgreSQL they may commit
    /// out of order.
    changes (id) {
        id -> BigInt,
        kind -> Text,
        org_id -> Nullable<Text>,
        app_id -> Nullable<Text>,
        product_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// Keys access tokens are signed with; the private part sealed with the instance key.
    signing_keys (kid) {
        kid -> Text,
        generation -> BigInt,
        alg -> Text,
        public_jwk -> Text,
        private_sealed -> Text,
        created_at -> Timestamp,
        retire_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        app_id -> Text,
        credential_id -> Text,
        token_hash -> Text,
        scope -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        family_expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        replaced_by -> Nullable<Text>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    static_tokens (id) {
        id -> Text,
        credential_id -> Text,
        app_id -> Text,
        token_hash -> Text,
        prefix -> Text,
        last4 -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    assertion_jtis (client_id, jti) {
        client_id -> Text,
        jti -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    revoked_access_tokens (jti) {
        jti -> Text,
        app_id -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(subscriptions -> apps (app_id));
diesel::joinable!(subscriptions -> products (product_id));
diesel::joinable!(product_teams -> products (product_id));
diesel::joinable!(memberships -> organisations (org_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(teams -> organisations (org_id));
diesel::joinable!(credentials -> apps (app_id));
diesel::joinable!(gateway_tokens -> organisations (org_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(invitations -> organisations (org_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(api_tokens -> organisations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    idempotency_keys,
    users,
    organisations,
    memberships,
    invitations,
    sessions,
    instance_settings,
    audit_events,
    teams,
    team_members,
    apps,
    credentials,
    form_nonces,
    products,
    product_teams,
    subscriptions,
    approval_settings,
    approval_rules,
    notifications,
    notification_preferences,
    email_outbox,
    user_tokens,
    credential_notices,
    gateway_tokens,
    quota_counts,
    signing_keys,
    refresh_tokens,
    static_tokens,
    assertion_jtis,
    revoked_access_tokens,
);
