DROP INDEX gateway_tokens_live_name;
