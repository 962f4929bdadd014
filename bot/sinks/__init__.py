"""Where results go: the Discord channel that receives the daily digest."""
