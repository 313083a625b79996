from gridops.cli import main

main()
