"""LoRAs: where they come from (a folder, the Hub), which family each fits, and the stage that puts the asked ones
on the loaded pipeline."""
