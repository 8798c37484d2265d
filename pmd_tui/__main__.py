from pmd_tui.cli import main

main()
