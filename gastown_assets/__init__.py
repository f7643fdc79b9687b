"""gastown-assets: Gas Town transcripts -> one LoRA adapter per agent role."""
