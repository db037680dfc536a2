"""ConnectWise PSA (Manage): agreement additions' quantities set from backup usage."""
