from bulk_sync.cli import main

main()
