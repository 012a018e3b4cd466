from lrbench.entrypoint import main

main()
