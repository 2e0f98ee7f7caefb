from recsys_course.cli import main

raise SystemExit(main())
