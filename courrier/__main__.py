from courrier.cli import main

main()
