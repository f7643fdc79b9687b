"""vulture's allow-list (`make lint`): names that frameworks and data formats use, not our calls.

Each line names what vulture cannot see the use of, with the reason above it.
"""

# pydantic: its settings, the validators it calls, fields read through model_dump()
model_config
_._one_base_model, _._compiles, _._vllm_accepts
# memorization.to_dict() and report.json's examples
recorded, distinct, probed, without_context, other_secrets, _.other_secrets
base_calls, adapter_calls, base_reply, adapter_reply
# OpenAI request fields that gastown serve accepts and ignores
tool_choice, response_format
# Dagster: resource fields set from EnvVars, IO manager hooks
aws_access_key_id, aws_secret_access_key, aws_session_token, aws_endpoint_url, aws_region
_.dump_to_path, _.load_from_path, _.create_io_manager
# transformers TrainerCallback hooks and Axolotl plugins (found by name), with their fixed signatures
_.on_train_begin, _.on_step_end, _.on_log, _.on_save, _.on_train_end, control, kwargs, scores
ReporterPlugin, CpuPlugin, _.add_callbacks_pre_trainer, _.get_training_args
# tokenizers and transformers attributes we set for them to read
_.pad_token, _.pre_tokenizer, _.decoder
# protocol methods and a FastAPI route
tb, __getattr__, health
# public API read by tests: which kept row a duplicate matched; a GPU summary against the estimate
_.duplicate_of, check_summary
