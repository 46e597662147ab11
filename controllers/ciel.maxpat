{
	"patcher": {
		"fileversion": 1,
		"appversion": {
			"major": 8,
			"minor": 5,
			"revision": 6,
			"architecture": "x64",
			"modernui": 1
		},
		"classnamespace": "box",
		"rect": [40.0, 60.0, 1400.0, 880.0],
		"bglocked": 0,
		"openinpresentation": 1,
		"default_fontsize": 12.0,
		"default_fontface": 0,
		"default_fontname": "Arial",
		"gridonopen": 1,
		"gridsize": [15.0, 15.0],
		"gridsnaponopen": 1,
		"objectsnaponopen": 1,
		"statusbarvisible": 2,
		"toolbarvisible": 1,
		"boxanimatetime": 200,
		"enablehscroll": 1,
		"enablevscroll": 1,
		"description": "ciel-node OSC controller",
		"digest": "",
		"tags": "",
		"style": "",
		"subpatcher_template": "",
		"boxes": [
			{
				"box": {
					"id": "obj-1",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 10.0, 700.0, 20.0],
					"text": "ciel-node controller (Max 8) - OSC over UDP. Opens in presentation mode: Cmd/Ctrl+Alt+E shows the wiring.",
					"presentation": 1,
					"presentation_rect": [20.0, 10.0, 700.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-2",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 32.0, 620.0, 40.0],
					"text": "Locked patch: drag the sliders / number boxes, click the buttons and the toggle. The node's own reports come back and move the same widgets with 'set' (which does not output, so nothing loops).",
					"presentation": 1,
					"presentation_rect": [20.0, 32.0, 620.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-3",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 90.0, 200.0, 20.0],
					"text": "1. CONNECTION",
					"presentation": 1,
					"presentation_rect": [20.0, 90.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-4",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [20.0, 115.0, 70.0, 22.0],
					"outlettype": ["bang"],
					"text": "loadbang"
				}
			},
			{
				"box": {
					"id": "obj-5",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [20.0, 145.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", "bang"],
					"text": "t b b b"
				}
			},
			{
				"box": {
					"id": "obj-6",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [120.0, 180.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "host 127.0.0.1",
					"presentation": 1,
					"presentation_rect": [120.0, 180.0, 112.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-7",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [240.0, 180.0, 77.0, 22.0],
					"outlettype": [""],
					"text": "port 9000",
					"presentation": 1,
					"presentation_rect": [240.0, 180.0, 77.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-8",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [330.0, 175.0, 330.0, 80.0],
					"text": "<- the node's host and OSC port (unlock, edit, lock, click). For a remote node over SSH: the local UDP port that 'ciel-node operator --ssh user@host' prints.",
					"presentation": 1,
					"presentation_rect": [330.0, 175.0, 330.0, 80.0]
				}
			},
			{
				"box": {
					"id": "obj-9",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 225.0, 42.0, 22.0],
					"outlettype": [""],
					"text": "9001"
				}
			},
			{
				"box": {
					"id": "obj-10",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 270.0, 80.0, 20.0],
					"text": "listen port",
					"presentation": 1,
					"presentation_rect": [20.0, 270.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-11",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [100.0, 270.0, 60.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"minimum": 0,
					"maximum": 65535,
					"presentation": 1,
					"presentation_rect": [100.0, 270.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-12",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [165.0, 270.0, 380.0, 20.0],
					"text": "<- where the node's state, pieces and errors come back",
					"presentation": 1,
					"presentation_rect": [165.0, 270.0, 380.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-13",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1180.0, 620.0, 168.0, 22.0],
					"text": "udpsend 127.0.0.1 9000"
				}
			},
			{
				"box": {
					"id": "obj-14",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [20.0, 305.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [20.0, 305.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-15",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [48.0, 307.0, 240.0, 20.0],
					"text": "subscribe and ask for the state again",
					"presentation": 1,
					"presentation_rect": [48.0, 307.0, 240.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-16",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [300.0, 305.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [300.0, 305.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-17",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [328.0, 307.0, 220.0, 20.0],
					"text": "stop the feedback (unsubscribe)",
					"presentation": 1,
					"presentation_rect": [328.0, 307.0, 220.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-18",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 350.0, 200.0, 20.0],
					"text": "2. CONTROLS -> node",
					"presentation": 1,
					"presentation_rect": [20.0, 350.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-19",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 380.0, 140.0, 20.0],
					"text": "interval (s)",
					"presentation": 1,
					"presentation_rect": [20.0, 380.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-20",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 380.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": 0.5,
					"size": 3599.5,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 380.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-21",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 380.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.5,
					"maximum": 3600.0,
					"presentation": 1,
					"presentation_rect": [370.0, 380.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-22",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 380.0, 170.0, 20.0],
					"text": "0.5 - 3600, default 30",
					"presentation": 1,
					"presentation_rect": [470.0, 380.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-23",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 380.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "clip 0.5 3600."
				}
			},
			{
				"box": {
					"id": "obj-24",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 380.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-25",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 380.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-26",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 380.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/interval $1"
				}
			},
			{
				"box": {
					"id": "obj-27",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 420.0, 140.0, 20.0],
					"text": "seed",
					"presentation": 1,
					"presentation_rect": [20.0, 420.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-28",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 420.0, 90.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [370.0, 420.0, 90.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-29",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 420.0, 170.0, 40.0],
					"text": "integer 0 - 2147483647, default 0",
					"presentation": 1,
					"presentation_rect": [470.0, 420.0, 170.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-30",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 420.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "clip 0 2147483647"
				}
			},
			{
				"box": {
					"id": "obj-31",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 420.0, 49.0, 22.0],
					"outlettype": ["int", "int"],
					"text": "t i i"
				}
			},
			{
				"box": {
					"id": "obj-32",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 420.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-33",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 420.0, 105.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/seed $1"
				}
			},
			{
				"box": {
					"id": "obj-34",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 460.0, 140.0, 20.0],
					"text": "drift",
					"presentation": 1,
					"presentation_rect": [20.0, 460.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-35",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 460.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": 0.0,
					"size": 1.0,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 460.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-36",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 460.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"presentation": 1,
					"presentation_rect": [370.0, 460.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-37",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 460.0, 170.0, 20.0],
					"text": "0 - 1, default 0.1",
					"presentation": 1,
					"presentation_rect": [470.0, 460.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-38",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 460.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "clip 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-39",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 460.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-40",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 460.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-41",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 460.0, 112.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/drift $1"
				}
			},
			{
				"box": {
					"id": "obj-42",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 500.0, 140.0, 20.0],
					"text": "volume ceiling (dBFS)",
					"presentation": 1,
					"presentation_rect": [20.0, 500.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-43",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 500.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -60.0,
					"size": 60.0,
					"orientation": 1,
					"presentation": 1,
					"presentation_rect": [160.0, 500.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-44",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [370.0, 500.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -60.0,
					"maximum": 0.0,
					"presentation": 1,
					"presentation_rect": [370.0, 500.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-45",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [470.0, 500.0, 170.0, 20.0],
					"text": "-60 - 0, default -6",
					"presentation": 1,
					"presentation_rect": [470.0, 500.0, 170.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-46",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [680.0, 500.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "clip -60. 0."
				}
			},
			{
				"box": {
					"id": "obj-47",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [830.0, 500.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-48",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 500.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-49",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 500.0, 175.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/volume_ceiling $1"
				}
			},
			{
				"box": {
					"id": "obj-50",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 540.0, 140.0, 20.0],
					"text": "next",
					"presentation": 1,
					"presentation_rect": [20.0, 540.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-51",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 538.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [160.0, 538.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-52",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [190.0, 540.0, 200.0, 20.0],
					"text": "publish a new piece now",
					"presentation": 1,
					"presentation_rect": [190.0, 540.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-53",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 540.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/next"
				}
			},
			{
				"box": {
					"id": "obj-54",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 580.0, 140.0, 20.0],
					"text": "playback",
					"presentation": 1,
					"presentation_rect": [20.0, 580.0, 140.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-55",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [160.0, 578.0, 24.0, 24.0],
					"outlettype": ["int"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [160.0, 578.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-56",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [190.0, 580.0, 260.0, 40.0],
					"text": "the node's speakers on / off (default on)",
					"presentation": 1,
					"presentation_rect": [190.0, 580.0, 260.0, 40.0]
				}
			},
			{
				"box": {
					"id": "obj-57",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 580.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/playback $1"
				}
			},
			{
				"box": {
					"id": "obj-58",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [900.0, 580.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-59",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 630.0, 620.0, 20.0],
					"text": "3. FROM THE NODE (also printed in the Max console: ciel-osc-in, ciel-error)",
					"presentation": 1,
					"presentation_rect": [20.0, 630.0, 620.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-60",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 660.0, 80.0, 20.0],
					"text": "last piece",
					"presentation": 1,
					"presentation_rect": [20.0, 660.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-61",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [100.0, 660.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"presentation": 1,
					"presentation_rect": [100.0, 660.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-62",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [180.0, 660.0, 220.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [180.0, 660.0, 220.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-63",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [410.0, 660.0, 220.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [410.0, 660.0, 220.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-64",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 690.0, 80.0, 20.0],
					"text": "last error",
					"presentation": 1,
					"presentation_rect": [20.0, 690.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-65",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [100.0, 690.0, 530.0, 22.0],
					"outlettype": [""],
					"text": "",
					"presentation": 1,
					"presentation_rect": [100.0, 690.0, 530.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-66",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [680.0, 115.0, 63.0, 22.0],
					"outlettype": ["int", "int", "int"],
					"text": "t i i i"
				}
			},
			{
				"box": {
					"id": "obj-67",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [840.0, 145.0, 63.0, 22.0],
					"outlettype": [""],
					"text": "port $1"
				}
			},
			{
				"box": {
					"id": "obj-68",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [840.0, 175.0, 119.0, 22.0],
					"outlettype": [""],
					"text": "udpreceive 9001"
				}
			},
			{
				"box": {
					"id": "obj-69",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [680.0, 210.0, 49.0, 22.0],
					"outlettype": ["bang", "bang"],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-70",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [740.0, 205.0, 300.0, 40.0],
					"text": "<- hello: (re)start the subscription, then ask for the whole state"
				}
			},
			{
				"box": {
					"id": "obj-71",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [760.0, 250.0, 84.0, 22.0],
					"outlettype": ["bang"],
					"text": "metro 5000"
				}
			},
			{
				"box": {
					"id": "obj-72",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [850.0, 250.0, 280.0, 40.0],
					"text": "<- re-subscribe every 5 s: the node drops subscribers it thinks dead"
				}
			},
			{
				"box": {
					"id": "obj-73",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [800.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-74",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [800.0, 330.0, 140.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/subscribe $1"
				}
			},
			{
				"box": {
					"id": "obj-75",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [680.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-76",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [680.0, 330.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/get $1"
				}
			},
			{
				"box": {
					"id": "obj-77",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [1200.0, 250.0, 49.0, 22.0],
					"outlettype": ["bang", "bang"],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-78",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1260.0, 280.0, 42.0, 22.0],
					"outlettype": [""],
					"text": "stop"
				}
			},
			{
				"box": {
					"id": "obj-79",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1200.0, 300.0, 56.0, 22.0],
					"outlettype": ["int"],
					"text": "i 9001"
				}
			},
			{
				"box": {
					"id": "obj-80",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1200.0, 330.0, 154.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/unsubscribe $1"
				}
			},
			{
				"box": {
					"id": "obj-81",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1180.0, 645.0, 210.0, 40.0],
					"text": "everything goes out here as OSC (floats as f, ints as i)"
				}
			},
			{
				"box": {
					"id": "obj-82",
					"maxclass": "newobj",
					"numinlets": 8,
					"numoutlets": 8,
					"patching_rect": [680.0, 700.0, 560.0, 22.0],
					"outlettype": ["", "", "", "", "", "", "", ""],
					"text": "route /ciel/state/interval /ciel/state/seed /ciel/state/drift /ciel/state/volume_ceiling /ciel/state/playback /ciel/piece /ciel/error"
				}
			},
			{
				"box": {
					"id": "obj-83",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [980.0, 175.0, 133.0, 22.0],
					"text": "print ciel-osc-in"
				}
			},
			{
				"box": {
					"id": "obj-84",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [1075.0, 740.0, 98.0, 22.0],
					"outlettype": ["int", "", ""],
					"text": "unpack i s s"
				}
			},
			{
				"box": {
					"id": "obj-85",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1075.0, 780.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-86",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1140.0, 780.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-87",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1140.0, 810.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-88",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [1250.0, 740.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "prepend set"
				}
			},
			{
				"box": {
					"id": "obj-89",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1250.0, 770.0, 126.0, 22.0],
					"text": "print ciel-error"
				}
			},
			{
				"box": {
					"id": "obj-90",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [680.0, 675.0, 490.0, 20.0],
					"text": "feedback: /ciel/state/<name> -> set on the widgets, /ciel/piece, /ciel/error"
				}
			},
			{
				"box": {
					"id": "obj-101",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 900.0, 620.0, 20.0],
					"text": "4. BENDING -> node: /ciel/bend/<net>/<layer>/<transform>. Pick net, layer and transform (nothing is sent), then move the value.",
					"presentation": 1,
					"presentation_rect": [0.0, 730.0, 620.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-102",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 930.0, 60.0, 20.0],
					"text": "net",
					"presentation": 1,
					"presentation_rect": [0.0, 760.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-103",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [100.0, 930.0, 90.0, 22.0],
					"outlettype": ["int", "", ""],
					"parameter_enable": 0,
					"items": ["image", ",", "sound"],
					"varname": "bend-net",
					"presentation": 1,
					"presentation_rect": [80.0, 760.0, 90.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-104",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [200.0, 930.0, 45.0, 20.0],
					"text": "layer",
					"presentation": 1,
					"presentation_rect": [180.0, 760.0, 45.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-105",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [245.0, 930.0, 50.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"minimum": 1,
					"maximum": 6,
					"varname": "bend-layer",
					"presentation": 1,
					"presentation_rect": [225.0, 760.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-106",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [305.0, 930.0, 360.0, 34.0],
					"text": "1 = the latent side. image: 1-6 (6 = the picture), sound: 1-3 (3 = the spectrum)",
					"presentation": 1,
					"presentation_rect": [285.0, 760.0, 360.0, 34.0]
				}
			},
			{
				"box": {
					"id": "obj-107",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 965.0, 75.0, 20.0],
					"text": "transform",
					"presentation": 1,
					"presentation_rect": [0.0, 795.0, 75.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-108",
					"maxclass": "umenu",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [100.0, 965.0, 110.0, 22.0],
					"outlettype": ["int", "", ""],
					"parameter_enable": 0,
					"items": ["translate", ",", "scale", ",", "rotate", ",", "erode", ",", "dilate", ",", "multiply", ",", "threshold", ",", "flip_h", ",", "flip_v", ",", "invert", ",", "ablate"],
					"varname": "bend-transform",
					"presentation": 1,
					"presentation_rect": [80.0, 795.0, 110.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-109",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [220.0, 965.0, 440.0, 48.0],
					"text": "translate x y -1..1 (sound: 1 value, along frequency), scale 0.25..4 (off 1), rotate -180..180, erode / dilate 0..8, multiply -4..4 (off 1), threshold 0..1, flip_h / flip_v / invert 0 / 1, ablate 0..1",
					"presentation": 1,
					"presentation_rect": [200.0, 795.0, 440.0, 48.0]
				}
			},
			{
				"box": {
					"id": "obj-110",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 1020.0, 60.0, 20.0],
					"text": "value",
					"presentation": 1,
					"presentation_rect": [0.0, 850.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-111",
					"maxclass": "slider",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [100.0, 1020.0, 200.0, 22.0],
					"outlettype": [""],
					"parameter_enable": 0,
					"floatoutput": 1,
					"size": 1.0,
					"orientation": 1,
					"varname": "bend-value-slider",
					"presentation": 1,
					"presentation_rect": [80.0, 850.0, 200.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-112",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [310.0, 1020.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"varname": "bend-value",
					"presentation": 1,
					"presentation_rect": [290.0, 850.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-113",
					"maxclass": "toggle",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [390.0, 1019.0, 24.0, 24.0],
					"outlettype": ["int"],
					"parameter_enable": 0,
					"varname": "bend-toggle",
					"presentation": 1,
					"presentation_rect": [370.0, 849.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-114",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [420.0, 1020.0, 220.0, 20.0],
					"text": "on / off (flip_h, flip_v, invert)",
					"presentation": 1,
					"presentation_rect": [400.0, 850.0, 220.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-115",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 1055.0, 80.0, 20.0],
					"text": "y (translate)",
					"presentation": 1,
					"presentation_rect": [0.0, 885.0, 80.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-116",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [100.0, 1055.0, 70.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -1.0,
					"maximum": 1.0,
					"varname": "bend-y",
					"presentation": 1,
					"presentation_rect": [80.0, 885.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-117",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [180.0, 1055.0, 440.0, 20.0],
					"text": "the slider spans the transform's range; selecting one shows its off value",
					"presentation": 1,
					"presentation_rect": [160.0, 885.0, 440.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-118",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 1090.0, 70.0, 20.0],
					"text": "features",
					"presentation": 1,
					"presentation_rect": [0.0, 920.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-119",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [100.0, 1089.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"varname": "bend-all",
					"presentation": 1,
					"presentation_rect": [80.0, 919.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-120",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [126.0, 1090.0, 30.0, 20.0],
					"text": "all",
					"presentation": 1,
					"presentation_rect": [106.0, 920.0, 30.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-121",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [160.0, 1090.0, 55.0, 20.0],
					"text": "random",
					"presentation": 1,
					"presentation_rect": [140.0, 920.0, 55.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-122",
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [215.0, 1090.0, 60.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"varname": "bend-random",
					"presentation": 1,
					"presentation_rect": [195.0, 920.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-123",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [285.0, 1090.0, 55.0, 20.0],
					"text": "cluster",
					"presentation": 1,
					"presentation_rect": [265.0, 920.0, 55.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-124",
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [340.0, 1090.0, 50.0, 22.0],
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"minimum": 1,
					"varname": "bend-cluster",
					"presentation": 1,
					"presentation_rect": [320.0, 920.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"id": "obj-125",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [400.0, 1090.0, 260.0, 20.0],
					"text": "which features of the layer its bends touch",
					"presentation": 1,
					"presentation_rect": [380.0, 920.0, 260.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-126",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [20.0, 1125.0, 60.0, 20.0],
					"text": "clear",
					"presentation": 1,
					"presentation_rect": [0.0, 955.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-127",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [100.0, 1124.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"varname": "bend-clear",
					"presentation": 1,
					"presentation_rect": [80.0, 954.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-128",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [126.0, 1125.0, 30.0, 20.0],
					"text": "all",
					"presentation": 1,
					"presentation_rect": [106.0, 955.0, 30.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-129",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [170.0, 1124.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"varname": "bend-clear-image",
					"presentation": 1,
					"presentation_rect": [150.0, 954.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-130",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [196.0, 1125.0, 50.0, 20.0],
					"text": "image",
					"presentation": 1,
					"presentation_rect": [176.0, 955.0, 50.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-131",
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [250.0, 1124.0, 24.0, 24.0],
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"varname": "bend-clear-sound",
					"presentation": 1,
					"presentation_rect": [230.0, 954.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"id": "obj-132",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [276.0, 1125.0, 50.0, 20.0],
					"text": "sound",
					"presentation": 1,
					"presentation_rect": [256.0, 955.0, 50.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-133",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [340.0, 1125.0, 200.0, 20.0],
					"text": "back to the unbent nets",
					"presentation": 1,
					"presentation_rect": [320.0, 955.0, 200.0, 20.0]
				}
			},
			{
				"box": {
					"id": "obj-134",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [720.0, 900.0, 640.0, 34.0],
					"text": "bending: the selection is stored; the value, y, the features and the clears send. Every value is clipped to the node's range and shown with 'set'. Types: [pack s 0.] sends f, [pack s 0] sends i."
				}
			},
			{
				"box": {
					"id": "obj-135",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [720.0, 940.0, 70.0, 22.0],
					"outlettype": ["bang"],
					"varname": "bend-loadbang",
					"text": "loadbang"
				}
			},
			{
				"box": {
					"id": "obj-136",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 5,
					"patching_rect": [720.0, 970.0, 91.0, 22.0],
					"outlettype": ["bang", "bang", "bang", "bang", "bang"],
					"text": "t b b b b b"
				}
			},
			{
				"box": {
					"id": "obj-137",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [960.0, 1000.0, 63.0, 22.0],
					"outlettype": [""],
					"text": "set 0.5"
				}
			},
			{
				"box": {
					"id": "obj-138",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1030.0, 1000.0, 49.0, 22.0],
					"outlettype": [""],
					"text": "set 1"
				}
			},
			{
				"box": {
					"id": "obj-139",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [890.0, 1000.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "0"
				}
			},
			{
				"box": {
					"id": "obj-140",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [840.0, 1000.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "1"
				}
			},
			{
				"box": {
					"id": "obj-141",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [720.0, 1000.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "2"
				}
			},
			{
				"box": {
					"id": "obj-142",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [20.0, 1180.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", "int"],
					"text": "t b b i"
				}
			},
			{
				"box": {
					"id": "obj-143",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 1460.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-144",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [320.0, 1460.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-145",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [520.0, 1240.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-146",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"patching_rect": [110.0, 1210.0, 175.0, 22.0],
					"outlettype": [""],
					"text": "expr 6 - 3 * ($i1 != 0)"
				}
			},
			{
				"box": {
					"id": "obj-147",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [220.0, 1240.0, 70.0, 22.0],
					"outlettype": [""],
					"text": "clip 1 6"
				}
			},
			{
				"box": {
					"id": "obj-148",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [220.0, 1270.0, 63.0, 22.0],
					"outlettype": ["bang", "int", "int"],
					"text": "t b i i"
				}
			},
			{
				"box": {
					"id": "obj-149",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [280.0, 1300.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-150",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [640.0, 1240.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-151",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [350.0, 1180.0, 49.0, 22.0],
					"outlettype": ["bang", "int"],
					"text": "t b i"
				}
			},
			{
				"box": {
					"id": "obj-152",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [350.0, 1240.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-153",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [350.0, 1210.0, 77.0, 22.0],
					"outlettype": ["bang", "bang", "bang", "bang"],
					"text": "t b b b b"
				}
			},
			{
				"box": {
					"id": "obj-154",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [520.0, 1300.0, 238.0, 22.0],
					"outlettype": [""],
					"text": "expr $i1 * (1 + ($i2 == 3)) * 11"
				}
			},
			{
				"box": {
					"id": "obj-155",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [350.0, 1330.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "+"
				}
			},
			{
				"box": {
					"id": "obj-156",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 34,
					"patching_rect": [350.0, 1360.0, 600.0, 22.0],
					"outlettype": ["bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", "bang", ""],
					"text": "sel 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32"
				}
			},
			{
				"box": {
					"id": "obj-157",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 5,
					"patching_rect": [1370.0, 1460.0, 147.0, 22.0],
					"outlettype": ["float", "int", "", "float", "float"],
					"text": "unpack 0. 0 s 0. 0."
				}
			},
			{
				"box": {
					"id": "obj-158",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [1370.0, 1150.0, 480.0, 34.0],
					"text": "rows: neutral, kind (0 f, 1 i rounded, 2 an x y pair), name, low, high; for the image net, the sound net's hidden layers, its spectrum"
				}
			},
			{
				"box": {
					"id": "obj-159",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1190.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 2 translate -1. 1."
				}
			},
			{
				"box": {
					"id": "obj-160",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1214.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 scale 0.25 4."
				}
			},
			{
				"box": {
					"id": "obj-161",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1238.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 rotate -180. 180."
				}
			},
			{
				"box": {
					"id": "obj-162",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1262.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 erode 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-163",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1286.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 dilate 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-164",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1310.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 multiply -4. 4."
				}
			},
			{
				"box": {
					"id": "obj-165",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1334.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 threshold 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-166",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1358.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_h 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-167",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1382.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_v 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-168",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1406.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 invert 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-169",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1370.0, 1430.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 ablate 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-170",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1190.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 translate -1. 1."
				}
			},
			{
				"box": {
					"id": "obj-171",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1214.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 scale 0.25 4."
				}
			},
			{
				"box": {
					"id": "obj-172",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1238.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 rotate -180. 180."
				}
			},
			{
				"box": {
					"id": "obj-173",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1262.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 erode 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-174",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1286.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 dilate 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-175",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1310.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 multiply -4. 4."
				}
			},
			{
				"box": {
					"id": "obj-176",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1334.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 threshold 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-177",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1358.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_h 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-178",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1382.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_v 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-179",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1406.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 invert 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-180",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1530.0, 1430.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 ablate 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-181",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1190.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 translate -1. 1."
				}
			},
			{
				"box": {
					"id": "obj-182",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1214.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 scale 0.25 4."
				}
			},
			{
				"box": {
					"id": "obj-183",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1238.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 rotate -180. 180."
				}
			},
			{
				"box": {
					"id": "obj-184",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1262.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 erode 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-185",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1286.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 dilate 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-186",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1310.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "1. 0 multiply 0. 8."
				}
			},
			{
				"box": {
					"id": "obj-187",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1334.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 threshold 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-188",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1358.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_h 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-189",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1382.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 flip_v 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-190",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1406.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 1 invert 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-191",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1690.0, 1430.0, 150.0, 22.0],
					"outlettype": [""],
					"text": "0. 0 ablate 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-192",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [20.0, 1580.0, 119.0, 22.0],
					"outlettype": [""],
					"text": "clip -180. 180."
				}
			},
			{
				"box": {
					"id": "obj-193",
					"maxclass": "newobj",
					"numinlets": 6,
					"numoutlets": 1,
					"patching_rect": [20.0, 1550.0, 168.0, 22.0],
					"outlettype": [""],
					"text": "scale 0. 1. -180. 180."
				}
			},
			{
				"box": {
					"id": "obj-194",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [220.0, 1700.0, 224.0, 22.0],
					"outlettype": [""],
					"text": "expr ($f1 - $f2) / ($f3 - $f2)"
				}
			},
			{
				"box": {
					"id": "obj-195",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [20.0, 1520.0, 259.0, 22.0],
					"outlettype": [""],
					"text": "sprintf symout /ciel/bend/%s/%ld/%s"
				}
			},
			{
				"box": {
					"id": "obj-196",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [450.0, 1400.0, 63.0, 22.0],
					"outlettype": ["int", "int", "int"],
					"text": "t i i i"
				}
			},
			{
				"box": {
					"id": "obj-197",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [500.0, 1430.0, 42.0, 22.0],
					"outlettype": ["int"],
					"text": "== 1"
				}
			},
			{
				"box": {
					"id": "obj-198",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [580.0, 1520.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-199",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [450.0, 1520.0, 35.0, 22.0],
					"outlettype": ["int"],
					"text": "+ 1"
				}
			},
			{
				"box": {
					"id": "obj-200",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 3,
					"patching_rect": [20.0, 1640.0, 56.0, 22.0],
					"outlettype": ["", "", ""],
					"text": "gate 3"
				}
			},
			{
				"box": {
					"id": "obj-201",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 1610.0, 336.0, 22.0],
					"outlettype": [""],
					"text": "expr $f1 + ($i2 != 0) * (int($f1 + 0.5) - $f1)"
				}
			},
			{
				"box": {
					"id": "obj-202",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [20.0, 1670.0, 49.0, 22.0],
					"outlettype": ["bang", "float"],
					"text": "t b f"
				}
			},
			{
				"box": {
					"id": "obj-203",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [220.0, 1670.0, 63.0, 22.0],
					"outlettype": ["float", "float", "float"],
					"text": "t f f f"
				}
			},
			{
				"box": {
					"id": "obj-204",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [350.0, 1730.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-205",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [220.0, 1730.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-206",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [420.0, 1730.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-207",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [120.0, 1760.0, 63.0, 22.0],
					"outlettype": ["float", "float", "float"],
					"text": "t f f f"
				}
			},
			{
				"box": {
					"id": "obj-208",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [160.0, 1790.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-209",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [120.0, 1700.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-210",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 1850.0, 77.0, 22.0],
					"outlettype": [""],
					"text": "pack s 0."
				}
			},
			{
				"box": {
					"id": "obj-211",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [120.0, 1850.0, 70.0, 22.0],
					"outlettype": [""],
					"text": "pack s 0"
				}
			},
			{
				"box": {
					"id": "obj-212",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [220.0, 1850.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "pack s 0. 0."
				}
			},
			{
				"box": {
					"id": "obj-213",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [620.0, 1400.0, 49.0, 22.0],
					"outlettype": ["bang", "float"],
					"text": "t b f"
				}
			},
			{
				"box": {
					"id": "obj-214",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [620.0, 1430.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "0."
				}
			},
			{
				"box": {
					"id": "obj-215",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [620.0, 1580.0, 91.0, 22.0],
					"outlettype": [""],
					"text": "clip -1. 1."
				}
			},
			{
				"box": {
					"id": "obj-216",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [620.0, 1610.0, 49.0, 22.0],
					"outlettype": ["bang", "float"],
					"text": "t b f"
				}
			},
			{
				"box": {
					"id": "obj-217",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [720.0, 1640.0, 49.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "t f f"
				}
			},
			{
				"box": {
					"id": "obj-218",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [780.0, 1670.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-219",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"patching_rect": [580.0, 1550.0, 49.0, 22.0],
					"outlettype": ["bang", ""],
					"text": "sel 2"
				}
			},
			{
				"box": {
					"id": "obj-220",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [20.0, 1490.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", ""],
					"text": "sel 0 1"
				}
			},
			{
				"box": {
					"id": "obj-221",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [20.0, 1500.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol image"
				}
			},
			{
				"box": {
					"id": "obj-222",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [120.0, 1500.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol sound"
				}
			},
			{
				"box": {
					"id": "obj-223",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [320.0, 1520.0, 301.0, 22.0],
					"outlettype": [""],
					"text": "sprintf symout /ciel/bend/%s/%ld/features"
				}
			},
			{
				"box": {
					"id": "obj-224",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 3,
					"patching_rect": [320.0, 1640.0, 56.0, 22.0],
					"outlettype": ["", "", ""],
					"text": "gate 3"
				}
			},
			{
				"box": {
					"id": "obj-225",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [320.0, 1850.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "pack s all"
				}
			},
			{
				"box": {
					"id": "obj-226",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [420.0, 1850.0, 133.0, 22.0],
					"outlettype": [""],
					"text": "pack s random 0.5"
				}
			},
			{
				"box": {
					"id": "obj-227",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [570.0, 1850.0, 126.0, 22.0],
					"outlettype": [""],
					"text": "pack s cluster 1"
				}
			},
			{
				"box": {
					"id": "obj-228",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [320.0, 1490.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", ""],
					"text": "sel 0 1"
				}
			},
			{
				"box": {
					"id": "obj-229",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [320.0, 1505.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol image"
				}
			},
			{
				"box": {
					"id": "obj-230",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [420.0, 1505.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol sound"
				}
			},
			{
				"box": {
					"id": "obj-231",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [820.0, 1180.0, 49.0, 22.0],
					"outlettype": ["bang", "bang"],
					"text": "t b b"
				}
			},
			{
				"box": {
					"id": "obj-232",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [870.0, 1210.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "1"
				}
			},
			{
				"box": {
					"id": "obj-233",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [920.0, 1180.0, 84.0, 22.0],
					"outlettype": [""],
					"text": "clip 0. 1."
				}
			},
			{
				"box": {
					"id": "obj-234",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [920.0, 1210.0, 77.0, 22.0],
					"outlettype": ["bang", "bang", "float", "float"],
					"text": "t b b f f"
				}
			},
			{
				"box": {
					"id": "obj-235",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1030.0, 1240.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-236",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [980.0, 1240.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "2"
				}
			},
			{
				"box": {
					"id": "obj-237",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1120.0, 1180.0, 77.0, 22.0],
					"outlettype": ["int"],
					"text": "maximum 1"
				}
			},
			{
				"box": {
					"id": "obj-238",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [1120.0, 1210.0, 77.0, 22.0],
					"outlettype": ["bang", "bang", "int", "int"],
					"text": "t b b i i"
				}
			},
			{
				"box": {
					"id": "obj-239",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1230.0, 1240.0, 56.0, 22.0],
					"outlettype": [""],
					"text": "set $1"
				}
			},
			{
				"box": {
					"id": "obj-240",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1180.0, 1240.0, 34.0, 22.0],
					"outlettype": [""],
					"text": "3"
				}
			},
			{
				"box": {
					"id": "obj-241",
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"patching_rect": [820.0, 1360.0, 300.0, 34.0],
					"text": "the node's bends: kept by address, the selected one shown (never sent back)"
				}
			},
			{
				"box": {
					"id": "obj-242",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [820.0, 1400.0, 49.0, 22.0],
					"outlettype": ["bang", ""],
					"text": "t b a"
				}
			},
			{
				"box": {
					"id": "obj-243",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 4,
					"patching_rect": [920.0, 1460.0, 42.0, 22.0],
					"outlettype": ["", "", "", ""],
					"text": "coll"
				}
			},
			{
				"box": {
					"id": "obj-244",
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [820.0, 1430.0, 34.0, 22.0],
					"outlettype": ["int"],
					"text": "i"
				}
			},
			{
				"box": {
					"id": "obj-245",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"patching_rect": [720.0, 1460.0, 63.0, 22.0],
					"outlettype": ["bang", "bang", ""],
					"text": "sel 0 1"
				}
			},
			{
				"box": {
					"id": "obj-246",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [720.0, 1490.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol image"
				}
			},
			{
				"box": {
					"id": "obj-247",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [820.0, 1490.0, 98.0, 22.0],
					"outlettype": [""],
					"text": "symbol sound"
				}
			},
			{
				"box": {
					"id": "obj-248",
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"patching_rect": [720.0, 1520.0, 301.0, 22.0],
					"outlettype": [""],
					"text": "sprintf symout /ciel/state/bend_%s_%ld_%s"
				}
			},
			{
				"box": {
					"id": "obj-249",
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"patching_rect": [920.0, 1550.0, 98.0, 22.0],
					"outlettype": ["float", "float"],
					"text": "unpack 0. 0."
				}
			},
			{
				"box": {
					"id": "obj-250",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [820.0, 1300.0, 126.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/bend/clear"
				}
			},
			{
				"box": {
					"id": "obj-251",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [970.0, 1300.0, 168.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/bend/image/clear"
				}
			},
			{
				"box": {
					"id": "obj-252",
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"patching_rect": [1150.0, 1300.0, 168.0, 22.0],
					"outlettype": [""],
					"text": "/ciel/bend/sound/clear"
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "5. STEERING -> node: drag each net's pad (its walk's home on the net's map, /ciel/xy/<net> x y), turn its first four principal directions (/ciel/direction/<net>/<k>), store and recall presets with a glide. The node's own xy (a glide, another controller) moves the pads; nothing it reports is sent back.",
					"id": "obj-301",
					"patching_rect": [20.0, 1960.0, 640.0, 48.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1000.0, 640.0, 48.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "steering: the pad is a pictslider over 0..1000 (x right, y up), scaled to 0..1; a report from the node is played into the pad with the gate to udpsend shut, so the pad, the number boxes and the next move all have the node's values",
					"id": "obj-302",
					"patching_rect": [720.0, 1960.0, 640.0, 48.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"text": "loadbang",
					"id": "obj-303",
					"patching_rect": [720.0, 2020.0, 70.0, 22.0],
					"varname": "steer-loadbang"
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["bang", "bang"],
					"text": "t b b",
					"id": "obj-304",
					"patching_rect": [720.0, 2050.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "0.5 0.5",
					"id": "obj-305",
					"patching_rect": [720.0, 2080.0, 63.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set 0.",
					"id": "obj-306",
					"patching_rect": [800.0, 2080.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 20,
					"outlettype": ["", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
					"text": "route /ciel/state/xy_sound /ciel/state/xy_image /ciel/state/direction_sound_1 /ciel/state/direction_sound_2 /ciel/state/direction_sound_3 /ciel/state/direction_sound_4 /ciel/state/direction_image_1 /ciel/state/direction_image_2 /ciel/state/direction_image_3 /ciel/state/direction_image_4 /ciel/state/presets /ciel/state/direction_sound_5 /ciel/state/direction_sound_6 /ciel/state/direction_sound_7 /ciel/state/direction_sound_8 /ciel/state/direction_image_5 /ciel/state/direction_image_6 /ciel/state/direction_image_7 /ciel/state/direction_image_8",
					"id": "obj-307",
					"patching_rect": [680.0, 850.0, 600.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "<- the steering reports (directions 5-8 have no knobs: they stop here); the rest: the bends",
					"id": "obj-308",
					"patching_rect": [1290.0, 850.0, 330.0, 34.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "sound map",
					"id": "obj-309",
					"patching_rect": [20.0, 2030.0, 100.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1060.0, 100.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "pictslider",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"parameter_enable": 0,
					"leftvalue": 0,
					"rightvalue": 1000,
					"bottomvalue": 0,
					"topvalue": 1000,
					"id": "obj-310",
					"patching_rect": [20.0, 2054.0, 160.0, 160.0],
					"varname": "xy-sound",
					"presentation": 1,
					"presentation_rect": [20.0, 1084.0, 160.0, 160.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "x",
					"id": "obj-311",
					"patching_rect": [190.0, 2054.0, 20.0, 20.0],
					"presentation": 1,
					"presentation_rect": [190.0, 1084.0, 20.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"id": "obj-312",
					"patching_rect": [210.0, 2054.0, 60.0, 22.0],
					"varname": "xy-sound-x",
					"presentation": 1,
					"presentation_rect": [210.0, 1084.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "y",
					"id": "obj-313",
					"patching_rect": [190.0, 2084.0, 20.0, 20.0],
					"presentation": 1,
					"presentation_rect": [190.0, 1114.0, 20.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"id": "obj-314",
					"patching_rect": [210.0, 2084.0, 60.0, 22.0],
					"varname": "xy-sound-y",
					"presentation": 1,
					"presentation_rect": [210.0, 1114.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0. 1.",
					"id": "obj-315",
					"patching_rect": [20.0, 2230.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-316",
					"patching_rect": [20.0, 2260.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0. 1.",
					"id": "obj-317",
					"patching_rect": [190.0, 2230.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-318",
					"patching_rect": [190.0, 2290.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 6,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "scale 0 1000 0. 1.",
					"id": "obj-319",
					"patching_rect": [20.0, 2330.0, 140.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 6,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "scale 0 1000 0. 1.",
					"id": "obj-320",
					"patching_rect": [190.0, 2330.0, 140.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0. 0.",
					"id": "obj-321",
					"patching_rect": [20.0, 2360.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"text": "t l l",
					"id": "obj-322",
					"patching_rect": [20.0, 2390.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "unpack 0. 0.",
					"id": "obj-323",
					"patching_rect": [190.0, 2420.0, 98.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-324",
					"patching_rect": [190.0, 2450.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-325",
					"patching_rect": [270.0, 2450.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "gate 1 1",
					"id": "obj-326",
					"patching_rect": [20.0, 2450.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/xy/sound $1 $2",
					"id": "obj-327",
					"patching_rect": [20.0, 2480.0, 154.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["bang", "", "bang"],
					"text": "t b l b",
					"id": "obj-328",
					"patching_rect": [20.0, 2530.0, 63.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "0",
					"id": "obj-329",
					"patching_rect": [120.0, 2560.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "1",
					"id": "obj-330",
					"patching_rect": [20.0, 2650.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "unpack 0. 0.",
					"id": "obj-331",
					"patching_rect": [60.0, 2560.0, 98.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-332",
					"patching_rect": [60.0, 2590.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-333",
					"patching_rect": [220.0, 2590.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0 0",
					"id": "obj-334",
					"patching_rect": [60.0, 2620.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "image map",
					"id": "obj-335",
					"patching_rect": [360.0, 2030.0, 100.0, 20.0],
					"presentation": 1,
					"presentation_rect": [350.0, 1060.0, 100.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "pictslider",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["int", "int"],
					"parameter_enable": 0,
					"leftvalue": 0,
					"rightvalue": 1000,
					"bottomvalue": 0,
					"topvalue": 1000,
					"id": "obj-336",
					"patching_rect": [360.0, 2054.0, 160.0, 160.0],
					"varname": "xy-image",
					"presentation": 1,
					"presentation_rect": [350.0, 1084.0, 160.0, 160.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "x",
					"id": "obj-337",
					"patching_rect": [530.0, 2054.0, 20.0, 20.0],
					"presentation": 1,
					"presentation_rect": [520.0, 1084.0, 20.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"id": "obj-338",
					"patching_rect": [550.0, 2054.0, 60.0, 22.0],
					"varname": "xy-image-x",
					"presentation": 1,
					"presentation_rect": [540.0, 1084.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "y",
					"id": "obj-339",
					"patching_rect": [530.0, 2084.0, 20.0, 20.0],
					"presentation": 1,
					"presentation_rect": [520.0, 1114.0, 20.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 1.0,
					"id": "obj-340",
					"patching_rect": [550.0, 2084.0, 60.0, 22.0],
					"varname": "xy-image-y",
					"presentation": 1,
					"presentation_rect": [540.0, 1114.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0. 1.",
					"id": "obj-341",
					"patching_rect": [360.0, 2230.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-342",
					"patching_rect": [360.0, 2260.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0. 1.",
					"id": "obj-343",
					"patching_rect": [530.0, 2230.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-344",
					"patching_rect": [530.0, 2290.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 6,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "scale 0 1000 0. 1.",
					"id": "obj-345",
					"patching_rect": [360.0, 2330.0, 140.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 6,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "scale 0 1000 0. 1.",
					"id": "obj-346",
					"patching_rect": [530.0, 2330.0, 140.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0. 0.",
					"id": "obj-347",
					"patching_rect": [360.0, 2360.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"text": "t l l",
					"id": "obj-348",
					"patching_rect": [360.0, 2390.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "unpack 0. 0.",
					"id": "obj-349",
					"patching_rect": [530.0, 2420.0, 98.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-350",
					"patching_rect": [530.0, 2450.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-351",
					"patching_rect": [610.0, 2450.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "gate 1 1",
					"id": "obj-352",
					"patching_rect": [360.0, 2450.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/xy/image $1 $2",
					"id": "obj-353",
					"patching_rect": [360.0, 2480.0, 154.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 3,
					"outlettype": ["bang", "", "bang"],
					"text": "t b l b",
					"id": "obj-354",
					"patching_rect": [360.0, 2530.0, 63.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "0",
					"id": "obj-355",
					"patching_rect": [460.0, 2560.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "1",
					"id": "obj-356",
					"patching_rect": [360.0, 2650.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "unpack 0. 0.",
					"id": "obj-357",
					"patching_rect": [400.0, 2560.0, 98.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-358",
					"patching_rect": [400.0, 2590.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "expr int($f1 * 1000. + 0.5)",
					"id": "obj-359",
					"patching_rect": [560.0, 2590.0, 203.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0 0",
					"id": "obj-360",
					"patching_rect": [400.0, 2620.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "directions: along the net's k-th principal direction, in standard deviations -4..4 (0 = off); knobs 1-4 of 8",
					"id": "obj-361",
					"patching_rect": [20.0, 2660.0, 640.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1260.0, 640.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "sound 1",
					"id": "obj-362",
					"patching_rect": [20.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-363",
					"patching_rect": [20.0, 2704.0, 40.0, 40.0],
					"varname": "direction-sound-1-dial",
					"presentation": 1,
					"presentation_rect": [20.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-364",
					"patching_rect": [20.0, 2750.0, 60.0, 22.0],
					"varname": "direction-sound-1",
					"presentation": 1,
					"presentation_rect": [20.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-365",
					"patching_rect": [20.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-366",
					"patching_rect": [20.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-367",
					"patching_rect": [40.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/sound/1 $1",
					"id": "obj-368",
					"patching_rect": [20.0, 2940.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-369",
					"patching_rect": [40.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "sound 2",
					"id": "obj-370",
					"patching_rect": [100.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [100.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-371",
					"patching_rect": [100.0, 2704.0, 40.0, 40.0],
					"varname": "direction-sound-2-dial",
					"presentation": 1,
					"presentation_rect": [100.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-372",
					"patching_rect": [100.0, 2750.0, 60.0, 22.0],
					"varname": "direction-sound-2",
					"presentation": 1,
					"presentation_rect": [100.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-373",
					"patching_rect": [100.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-374",
					"patching_rect": [100.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-375",
					"patching_rect": [120.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/sound/2 $1",
					"id": "obj-376",
					"patching_rect": [100.0, 2910.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-377",
					"patching_rect": [120.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "sound 3",
					"id": "obj-378",
					"patching_rect": [180.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [180.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-379",
					"patching_rect": [180.0, 2704.0, 40.0, 40.0],
					"varname": "direction-sound-3-dial",
					"presentation": 1,
					"presentation_rect": [180.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-380",
					"patching_rect": [180.0, 2750.0, 60.0, 22.0],
					"varname": "direction-sound-3",
					"presentation": 1,
					"presentation_rect": [180.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-381",
					"patching_rect": [180.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-382",
					"patching_rect": [180.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-383",
					"patching_rect": [200.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/sound/3 $1",
					"id": "obj-384",
					"patching_rect": [180.0, 2940.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-385",
					"patching_rect": [200.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "sound 4",
					"id": "obj-386",
					"patching_rect": [260.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [260.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-387",
					"patching_rect": [260.0, 2704.0, 40.0, 40.0],
					"varname": "direction-sound-4-dial",
					"presentation": 1,
					"presentation_rect": [260.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-388",
					"patching_rect": [260.0, 2750.0, 60.0, 22.0],
					"varname": "direction-sound-4",
					"presentation": 1,
					"presentation_rect": [260.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-389",
					"patching_rect": [260.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-390",
					"patching_rect": [260.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-391",
					"patching_rect": [280.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/sound/4 $1",
					"id": "obj-392",
					"patching_rect": [260.0, 2910.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-393",
					"patching_rect": [280.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "image 1",
					"id": "obj-394",
					"patching_rect": [340.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [340.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-395",
					"patching_rect": [340.0, 2704.0, 40.0, 40.0],
					"varname": "direction-image-1-dial",
					"presentation": 1,
					"presentation_rect": [340.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-396",
					"patching_rect": [340.0, 2750.0, 60.0, 22.0],
					"varname": "direction-image-1",
					"presentation": 1,
					"presentation_rect": [340.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-397",
					"patching_rect": [340.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-398",
					"patching_rect": [340.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-399",
					"patching_rect": [360.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/image/1 $1",
					"id": "obj-400",
					"patching_rect": [340.0, 2940.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-401",
					"patching_rect": [360.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "image 2",
					"id": "obj-402",
					"patching_rect": [420.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [420.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-403",
					"patching_rect": [420.0, 2704.0, 40.0, 40.0],
					"varname": "direction-image-2-dial",
					"presentation": 1,
					"presentation_rect": [420.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-404",
					"patching_rect": [420.0, 2750.0, 60.0, 22.0],
					"varname": "direction-image-2",
					"presentation": 1,
					"presentation_rect": [420.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-405",
					"patching_rect": [420.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-406",
					"patching_rect": [420.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-407",
					"patching_rect": [440.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/image/2 $1",
					"id": "obj-408",
					"patching_rect": [420.0, 2910.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-409",
					"patching_rect": [440.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "image 3",
					"id": "obj-410",
					"patching_rect": [500.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [500.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-411",
					"patching_rect": [500.0, 2704.0, 40.0, 40.0],
					"varname": "direction-image-3-dial",
					"presentation": 1,
					"presentation_rect": [500.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-412",
					"patching_rect": [500.0, 2750.0, 60.0, 22.0],
					"varname": "direction-image-3",
					"presentation": 1,
					"presentation_rect": [500.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-413",
					"patching_rect": [500.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-414",
					"patching_rect": [500.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-415",
					"patching_rect": [520.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/image/3 $1",
					"id": "obj-416",
					"patching_rect": [500.0, 2940.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-417",
					"patching_rect": [520.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "image 4",
					"id": "obj-418",
					"patching_rect": [580.0, 2684.0, 70.0, 20.0],
					"presentation": 1,
					"presentation_rect": [580.0, 1284.0, 70.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "dial",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["float"],
					"parameter_enable": 0,
					"floatoutput": 1,
					"min": -4.0,
					"size": 8.0,
					"id": "obj-419",
					"patching_rect": [580.0, 2704.0, 40.0, 40.0],
					"varname": "direction-image-4-dial",
					"presentation": 1,
					"presentation_rect": [580.0, 1304.0, 40.0, 40.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": -4.0,
					"maximum": 4.0,
					"id": "obj-420",
					"patching_rect": [580.0, 2750.0, 60.0, 22.0],
					"varname": "direction-image-4",
					"presentation": 1,
					"presentation_rect": [580.0, 1350.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip -4. 4.",
					"id": "obj-421",
					"patching_rect": [580.0, 2790.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["float", "float"],
					"text": "t f f",
					"id": "obj-422",
					"patching_rect": [580.0, 2820.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-423",
					"patching_rect": [600.0, 2850.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/direction/image/4 $1",
					"id": "obj-424",
					"patching_rect": [580.0, 2910.0, 196.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "set $1",
					"id": "obj-425",
					"patching_rect": [600.0, 2880.0, 56.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "presets: both walks' places, directions and the bends, in slots 0-99; recall glides there over the glide time",
					"id": "obj-426",
					"patching_rect": [20.0, 3020.0, 640.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1400.0, 640.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "slot",
					"id": "obj-427",
					"patching_rect": [20.0, 3050.0, 40.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1430.0, 40.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "number",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"minimum": 0,
					"maximum": 99,
					"id": "obj-428",
					"patching_rect": [60.0, 3050.0, 50.0, 22.0],
					"varname": "preset-slot",
					"presentation": 1,
					"presentation_rect": [60.0, 1430.0, 50.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "glide (s)",
					"id": "obj-429",
					"patching_rect": [120.0, 3050.0, 60.0, 20.0],
					"presentation": 1,
					"presentation_rect": [120.0, 1430.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "flonum",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["", "bang"],
					"parameter_enable": 0,
					"format": 6,
					"minimum": 0.0,
					"maximum": 600.0,
					"id": "obj-430",
					"patching_rect": [185.0, 3050.0, 60.0, 22.0],
					"varname": "preset-glide",
					"presentation": 1,
					"presentation_rect": [185.0, 1430.0, 60.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"id": "obj-431",
					"patching_rect": [260.0, 3049.0, 24.0, 24.0],
					"varname": "preset-store",
					"presentation": 1,
					"presentation_rect": [260.0, 1429.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "store",
					"id": "obj-432",
					"patching_rect": [286.0, 3050.0, 60.0, 20.0],
					"presentation": 1,
					"presentation_rect": [286.0, 1430.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"id": "obj-433",
					"patching_rect": [350.0, 3049.0, 24.0, 24.0],
					"varname": "preset-recall",
					"presentation": 1,
					"presentation_rect": [350.0, 1429.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "recall",
					"id": "obj-434",
					"patching_rect": [376.0, 3050.0, 60.0, 20.0],
					"presentation": 1,
					"presentation_rect": [376.0, 1430.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "button",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": ["bang"],
					"parameter_enable": 0,
					"id": "obj-435",
					"patching_rect": [440.0, 3049.0, 24.0, 24.0],
					"varname": "preset-delete",
					"presentation": 1,
					"presentation_rect": [440.0, 1429.0, 24.0, 24.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "delete",
					"id": "obj-436",
					"patching_rect": [466.0, 3050.0, 60.0, 20.0],
					"presentation": 1,
					"presentation_rect": [466.0, 1430.0, 60.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "name",
					"id": "obj-437",
					"patching_rect": [20.0, 3085.0, 40.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1465.0, 40.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "textedit",
					"numinlets": 1,
					"numoutlets": 4,
					"outlettype": ["", "int", "", ""],
					"parameter_enable": 0,
					"keymode": 1,
					"lines": 1,
					"id": "obj-438",
					"patching_rect": [60.0, 3085.0, 185.0, 22.0],
					"varname": "preset-name",
					"presentation": 1,
					"presentation_rect": [60.0, 1465.0, 185.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "<- names the selected slot (type, Return)",
					"id": "obj-439",
					"patching_rect": [255.0, 3085.0, 300.0, 20.0],
					"presentation": 1,
					"presentation_rect": [255.0, 1465.0, 300.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "stored",
					"id": "obj-440",
					"patching_rect": [20.0, 3120.0, 50.0, 20.0],
					"presentation": 1,
					"presentation_rect": [20.0, 1500.0, 50.0, 20.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "",
					"id": "obj-441",
					"patching_rect": [75.0, 3120.0, 585.0, 22.0],
					"varname": "presets",
					"presentation": 1,
					"presentation_rect": [75.0, 1500.0, 585.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0 99",
					"id": "obj-442",
					"patching_rect": [20.0, 3170.0, 77.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 3,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "clip 0. 600.",
					"id": "obj-443",
					"patching_rect": [250.0, 3170.0, 98.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"text": "i",
					"id": "obj-444",
					"patching_rect": [220.0, 3210.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/preset/store $1",
					"id": "obj-445",
					"patching_rect": [220.0, 3240.0, 161.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"text": "i",
					"id": "obj-446",
					"patching_rect": [420.0, 3210.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/preset/delete $1",
					"id": "obj-447",
					"patching_rect": [420.0, 3240.0, 168.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"text": "i",
					"id": "obj-448",
					"patching_rect": [20.0, 3210.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0 0.",
					"id": "obj-449",
					"patching_rect": [20.0, 3240.0, 77.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/preset/recall $1 $2",
					"id": "obj-450",
					"patching_rect": [20.0, 3270.0, 189.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 2,
					"outlettype": ["", ""],
					"text": "route text",
					"id": "obj-451",
					"patching_rect": [620.0, 3170.0, 84.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "tosymbol",
					"id": "obj-452",
					"patching_rect": [620.0, 3200.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 2,
					"outlettype": ["bang", ""],
					"text": "t b s",
					"id": "obj-453",
					"patching_rect": [620.0, 3230.0, 49.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": ["int"],
					"text": "i",
					"id": "obj-454",
					"patching_rect": [620.0, 3260.0, 34.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "pack 0 s",
					"id": "obj-455",
					"patching_rect": [620.0, 3290.0, 70.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "message",
					"numinlets": 2,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "/ciel/preset/name $1 $2",
					"id": "obj-456",
					"patching_rect": [620.0, 3320.0, 175.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "newobj",
					"numinlets": 1,
					"numoutlets": 1,
					"outlettype": [""],
					"text": "prepend set",
					"id": "obj-457",
					"patching_rect": [900.0, 3170.0, 91.0, 22.0]
				}
			},
			{
				"box": {
					"maxclass": "comment",
					"numinlets": 1,
					"numoutlets": 0,
					"text": "<- /ciel/state/presets: 'slot name' for each, comma-separated",
					"id": "obj-458",
					"patching_rect": [1000.0, 3170.0, 300.0, 20.0]
				}
			}
		],
		"lines": [
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-20", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-20", 0],
					"source": ["obj-25", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-23", 0],
					"source": ["obj-21", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-21", 0],
					"source": ["obj-25", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-24", 0],
					"source": ["obj-23", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-25", 0],
					"source": ["obj-24", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-26", 0],
					"source": ["obj-24", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-26", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-30", 0],
					"source": ["obj-28", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-28", 0],
					"source": ["obj-32", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-31", 0],
					"source": ["obj-30", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-31", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-33", 0],
					"source": ["obj-31", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-33", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-38", 0],
					"source": ["obj-35", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-35", 0],
					"source": ["obj-40", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-38", 0],
					"source": ["obj-36", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-36", 0],
					"source": ["obj-40", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-39", 0],
					"source": ["obj-38", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-40", 0],
					"source": ["obj-39", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-41", 0],
					"source": ["obj-39", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-41", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-46", 0],
					"source": ["obj-43", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-43", 0],
					"source": ["obj-48", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-46", 0],
					"source": ["obj-44", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-44", 0],
					"source": ["obj-48", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-47", 0],
					"source": ["obj-46", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-48", 0],
					"source": ["obj-47", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-49", 0],
					"source": ["obj-47", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-49", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-53", 0],
					"source": ["obj-51", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-53", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-57", 0],
					"source": ["obj-55", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-57", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-55", 0],
					"source": ["obj-58", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-5", 0],
					"source": ["obj-4", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-6", 0],
					"source": ["obj-5", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-7", 0],
					"source": ["obj-5", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-9", 0],
					"source": ["obj-5", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-6", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-7", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-11", 0],
					"source": ["obj-9", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-66", 0],
					"source": ["obj-11", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-67", 0],
					"source": ["obj-66", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-68", 0],
					"source": ["obj-67", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-73", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-75", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-69", 0],
					"source": ["obj-66", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-69", 0],
					"source": ["obj-14", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-71", 0],
					"source": ["obj-69", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-75", 0],
					"source": ["obj-69", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-73", 0],
					"source": ["obj-71", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-74", 0],
					"source": ["obj-73", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-76", 0],
					"source": ["obj-75", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-74", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-76", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-77", 0],
					"source": ["obj-16", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-78", 0],
					"source": ["obj-77", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-71", 0],
					"source": ["obj-78", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-79", 0],
					"source": ["obj-77", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-79", 1],
					"source": ["obj-66", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-80", 0],
					"source": ["obj-79", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-80", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-82", 0],
					"source": ["obj-68", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-83", 0],
					"source": ["obj-68", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-25", 0],
					"source": ["obj-82", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-32", 0],
					"source": ["obj-82", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-40", 0],
					"source": ["obj-82", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-48", 0],
					"source": ["obj-82", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-58", 0],
					"source": ["obj-82", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-84", 0],
					"source": ["obj-82", 5]
				}
			},
			{
				"patchline": {
					"destination": ["obj-85", 0],
					"source": ["obj-84", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-86", 0],
					"source": ["obj-84", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-87", 0],
					"source": ["obj-84", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-61", 0],
					"source": ["obj-85", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-62", 0],
					"source": ["obj-86", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-63", 0],
					"source": ["obj-87", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-88", 0],
					"source": ["obj-82", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-89", 0],
					"source": ["obj-82", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-65", 0],
					"source": ["obj-88", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-136", 0],
					"source": ["obj-135", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-137", 0],
					"source": ["obj-136", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-122", 0],
					"source": ["obj-137", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-138", 0],
					"source": ["obj-136", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-124", 0],
					"source": ["obj-138", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-139", 0],
					"source": ["obj-136", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-103", 0],
					"source": ["obj-139", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-140", 0],
					"source": ["obj-136", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-105", 0],
					"source": ["obj-140", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-141", 0],
					"source": ["obj-136", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-108", 0],
					"source": ["obj-141", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-142", 0],
					"source": ["obj-103", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-143", 1],
					"source": ["obj-142", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-144", 1],
					"source": ["obj-142", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-145", 1],
					"source": ["obj-142", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-146", 0],
					"source": ["obj-142", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-105", 0],
					"source": ["obj-142", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-147", 0],
					"source": ["obj-105", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-147", 2],
					"source": ["obj-146", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-148", 0],
					"source": ["obj-147", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-149", 0],
					"source": ["obj-148", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-105", 0],
					"source": ["obj-149", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-150", 1],
					"source": ["obj-148", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-151", 0],
					"source": ["obj-108", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-152", 1],
					"source": ["obj-151", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-153", 0],
					"source": ["obj-151", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-153", 0],
					"source": ["obj-142", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-153", 0],
					"source": ["obj-148", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-150", 0],
					"source": ["obj-153", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-154", 1],
					"source": ["obj-150", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-145", 0],
					"source": ["obj-153", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-154", 0],
					"source": ["obj-145", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-155", 1],
					"source": ["obj-154", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-152", 0],
					"source": ["obj-153", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-155", 0],
					"source": ["obj-152", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-156", 0],
					"source": ["obj-155", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-159", 0],
					"source": ["obj-156", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-159", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-160", 0],
					"source": ["obj-156", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-160", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-161", 0],
					"source": ["obj-156", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-161", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-162", 0],
					"source": ["obj-156", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-162", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-163", 0],
					"source": ["obj-156", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-163", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-164", 0],
					"source": ["obj-156", 5]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-164", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-165", 0],
					"source": ["obj-156", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-165", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-166", 0],
					"source": ["obj-156", 7]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-166", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-167", 0],
					"source": ["obj-156", 8]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-167", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-168", 0],
					"source": ["obj-156", 9]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-168", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-169", 0],
					"source": ["obj-156", 10]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-169", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-170", 0],
					"source": ["obj-156", 11]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-170", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-171", 0],
					"source": ["obj-156", 12]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-171", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-172", 0],
					"source": ["obj-156", 13]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-172", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-173", 0],
					"source": ["obj-156", 14]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-173", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-174", 0],
					"source": ["obj-156", 15]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-174", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-175", 0],
					"source": ["obj-156", 16]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-175", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-176", 0],
					"source": ["obj-156", 17]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-176", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-177", 0],
					"source": ["obj-156", 18]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-177", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-178", 0],
					"source": ["obj-156", 19]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-178", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-179", 0],
					"source": ["obj-156", 20]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-179", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-180", 0],
					"source": ["obj-156", 21]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-180", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-181", 0],
					"source": ["obj-156", 22]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-181", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-182", 0],
					"source": ["obj-156", 23]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-182", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-183", 0],
					"source": ["obj-156", 24]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-183", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-184", 0],
					"source": ["obj-156", 25]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-184", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-185", 0],
					"source": ["obj-156", 26]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-185", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-186", 0],
					"source": ["obj-156", 27]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-186", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-187", 0],
					"source": ["obj-156", 28]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-187", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-188", 0],
					"source": ["obj-156", 29]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-188", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-189", 0],
					"source": ["obj-156", 30]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-189", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-190", 0],
					"source": ["obj-156", 31]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-190", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-191", 0],
					"source": ["obj-156", 32]
				}
			},
			{
				"patchline": {
					"destination": ["obj-157", 0],
					"source": ["obj-191", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-192", 2],
					"source": ["obj-157", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-193", 4],
					"source": ["obj-157", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-194", 2],
					"source": ["obj-157", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-192", 1],
					"source": ["obj-157", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-193", 3],
					"source": ["obj-157", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-194", 1],
					"source": ["obj-157", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-195", 2],
					"source": ["obj-157", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-196", 0],
					"source": ["obj-157", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-197", 0],
					"source": ["obj-196", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-198", 1],
					"source": ["obj-196", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-199", 0],
					"source": ["obj-196", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-200", 0],
					"source": ["obj-199", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-201", 1],
					"source": ["obj-197", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-193", 0],
					"source": ["obj-111", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-192", 0],
					"source": ["obj-193", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-192", 0],
					"source": ["obj-112", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-192", 0],
					"source": ["obj-113", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-201", 0],
					"source": ["obj-192", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-202", 0],
					"source": ["obj-201", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-204", 0],
					"source": ["obj-203", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-112", 0],
					"source": ["obj-204", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-194", 0],
					"source": ["obj-203", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-205", 0],
					"source": ["obj-194", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-111", 0],
					"source": ["obj-205", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-206", 0],
					"source": ["obj-203", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-113", 0],
					"source": ["obj-206", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-209", 0],
					"source": ["obj-202", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-203", 0],
					"source": ["obj-209", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-207", 0],
					"source": ["obj-209", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-212", 1],
					"source": ["obj-207", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-208", 0],
					"source": ["obj-207", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-211", 1],
					"source": ["obj-208", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-210", 1],
					"source": ["obj-207", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-213", 0],
					"source": ["obj-157", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-209", 0],
					"source": ["obj-213", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-214", 0],
					"source": ["obj-213", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-215", 0],
					"source": ["obj-116", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-216", 0],
					"source": ["obj-215", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-217", 0],
					"source": ["obj-216", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-217", 0],
					"source": ["obj-214", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-218", 0],
					"source": ["obj-217", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-116", 0],
					"source": ["obj-218", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-212", 2],
					"source": ["obj-217", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-198", 0],
					"source": ["obj-216", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-219", 0],
					"source": ["obj-198", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-143", 0],
					"source": ["obj-202", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-143", 0],
					"source": ["obj-219", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-220", 0],
					"source": ["obj-143", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-221", 0],
					"source": ["obj-220", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-222", 0],
					"source": ["obj-220", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-195", 0],
					"source": ["obj-221", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-195", 0],
					"source": ["obj-222", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-195", 1],
					"source": ["obj-148", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-200", 1],
					"source": ["obj-195", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-210", 0],
					"source": ["obj-200", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-211", 0],
					"source": ["obj-200", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-212", 0],
					"source": ["obj-200", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-210", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-211", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-212", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-228", 0],
					"source": ["obj-144", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-229", 0],
					"source": ["obj-228", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-230", 0],
					"source": ["obj-228", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-223", 0],
					"source": ["obj-229", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-223", 0],
					"source": ["obj-230", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-223", 1],
					"source": ["obj-148", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-224", 1],
					"source": ["obj-223", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-225", 0],
					"source": ["obj-224", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-225", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-226", 0],
					"source": ["obj-224", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-226", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-227", 0],
					"source": ["obj-224", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-227", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-231", 0],
					"source": ["obj-119", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-232", 0],
					"source": ["obj-231", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-224", 0],
					"source": ["obj-232", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-144", 0],
					"source": ["obj-231", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-233", 0],
					"source": ["obj-122", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-234", 0],
					"source": ["obj-233", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-235", 0],
					"source": ["obj-234", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-122", 0],
					"source": ["obj-235", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-226", 2],
					"source": ["obj-234", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-236", 0],
					"source": ["obj-234", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-224", 0],
					"source": ["obj-236", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-144", 0],
					"source": ["obj-234", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-237", 0],
					"source": ["obj-124", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-238", 0],
					"source": ["obj-237", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-239", 0],
					"source": ["obj-238", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-124", 0],
					"source": ["obj-239", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-227", 2],
					"source": ["obj-238", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-240", 0],
					"source": ["obj-238", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-224", 0],
					"source": ["obj-240", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-144", 0],
					"source": ["obj-238", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-243", 0],
					"source": ["obj-242", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-244", 0],
					"source": ["obj-242", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-244", 0],
					"source": ["obj-153", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-244", 1],
					"source": ["obj-142", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-245", 0],
					"source": ["obj-244", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-246", 0],
					"source": ["obj-245", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-247", 0],
					"source": ["obj-245", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-248", 0],
					"source": ["obj-246", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-248", 0],
					"source": ["obj-247", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-248", 1],
					"source": ["obj-148", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-248", 2],
					"source": ["obj-157", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-243", 0],
					"source": ["obj-248", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-249", 0],
					"source": ["obj-243", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-217", 0],
					"source": ["obj-249", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-209", 0],
					"source": ["obj-249", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-250", 0],
					"source": ["obj-127", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-250", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-251", 0],
					"source": ["obj-129", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-251", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-252", 0],
					"source": ["obj-131", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-252", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-304", 0],
					"source": ["obj-303", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-306", 0],
					"source": ["obj-304", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-305", 0],
					"source": ["obj-304", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-307", 0],
					"source": ["obj-82", 7]
				}
			},
			{
				"patchline": {
					"destination": ["obj-242", 0],
					"source": ["obj-307", 19]
				}
			},
			{
				"patchline": {
					"destination": ["obj-315", 0],
					"source": ["obj-312", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-316", 0],
					"source": ["obj-315", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-310", 0],
					"source": ["obj-316", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-317", 0],
					"source": ["obj-314", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-318", 0],
					"source": ["obj-317", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-310", 1],
					"source": ["obj-318", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-319", 0],
					"source": ["obj-310", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-320", 0],
					"source": ["obj-310", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-321", 0],
					"source": ["obj-319", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-321", 1],
					"source": ["obj-320", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-322", 0],
					"source": ["obj-321", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-323", 0],
					"source": ["obj-322", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-324", 0],
					"source": ["obj-323", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-325", 0],
					"source": ["obj-323", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-312", 0],
					"source": ["obj-324", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-314", 0],
					"source": ["obj-325", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-326", 1],
					"source": ["obj-322", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-327", 0],
					"source": ["obj-326", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-327", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-329", 0],
					"source": ["obj-328", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-326", 0],
					"source": ["obj-329", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-331", 0],
					"source": ["obj-328", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-332", 0],
					"source": ["obj-331", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-333", 0],
					"source": ["obj-331", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-334", 0],
					"source": ["obj-332", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-334", 1],
					"source": ["obj-333", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-310", 0],
					"source": ["obj-334", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-330", 0],
					"source": ["obj-328", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-326", 0],
					"source": ["obj-330", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-328", 0],
					"source": ["obj-307", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-328", 0],
					"source": ["obj-305", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-341", 0],
					"source": ["obj-338", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-342", 0],
					"source": ["obj-341", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-336", 0],
					"source": ["obj-342", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-343", 0],
					"source": ["obj-340", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-344", 0],
					"source": ["obj-343", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-336", 1],
					"source": ["obj-344", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-345", 0],
					"source": ["obj-336", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-346", 0],
					"source": ["obj-336", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-347", 0],
					"source": ["obj-345", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-347", 1],
					"source": ["obj-346", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-348", 0],
					"source": ["obj-347", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-349", 0],
					"source": ["obj-348", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-350", 0],
					"source": ["obj-349", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-351", 0],
					"source": ["obj-349", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-338", 0],
					"source": ["obj-350", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-340", 0],
					"source": ["obj-351", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-352", 1],
					"source": ["obj-348", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-353", 0],
					"source": ["obj-352", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-353", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-355", 0],
					"source": ["obj-354", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-352", 0],
					"source": ["obj-355", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-357", 0],
					"source": ["obj-354", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-358", 0],
					"source": ["obj-357", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-359", 0],
					"source": ["obj-357", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-360", 0],
					"source": ["obj-358", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-360", 1],
					"source": ["obj-359", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-336", 0],
					"source": ["obj-360", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-356", 0],
					"source": ["obj-354", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-352", 0],
					"source": ["obj-356", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-354", 0],
					"source": ["obj-307", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-354", 0],
					"source": ["obj-305", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-365", 0],
					"source": ["obj-363", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-365", 0],
					"source": ["obj-364", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-366", 0],
					"source": ["obj-365", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-367", 0],
					"source": ["obj-366", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-363", 0],
					"source": ["obj-367", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-364", 0],
					"source": ["obj-367", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-368", 0],
					"source": ["obj-366", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-368", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-369", 0],
					"source": ["obj-307", 2]
				}
			},
			{
				"patchline": {
					"destination": ["obj-363", 0],
					"source": ["obj-369", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-364", 0],
					"source": ["obj-369", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-363", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-364", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-373", 0],
					"source": ["obj-371", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-373", 0],
					"source": ["obj-372", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-374", 0],
					"source": ["obj-373", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-375", 0],
					"source": ["obj-374", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-371", 0],
					"source": ["obj-375", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-372", 0],
					"source": ["obj-375", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-376", 0],
					"source": ["obj-374", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-376", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-377", 0],
					"source": ["obj-307", 3]
				}
			},
			{
				"patchline": {
					"destination": ["obj-371", 0],
					"source": ["obj-377", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-372", 0],
					"source": ["obj-377", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-371", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-372", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-381", 0],
					"source": ["obj-379", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-381", 0],
					"source": ["obj-380", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-382", 0],
					"source": ["obj-381", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-383", 0],
					"source": ["obj-382", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-379", 0],
					"source": ["obj-383", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-380", 0],
					"source": ["obj-383", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-384", 0],
					"source": ["obj-382", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-384", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-385", 0],
					"source": ["obj-307", 4]
				}
			},
			{
				"patchline": {
					"destination": ["obj-379", 0],
					"source": ["obj-385", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-380", 0],
					"source": ["obj-385", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-379", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-380", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-389", 0],
					"source": ["obj-387", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-389", 0],
					"source": ["obj-388", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-390", 0],
					"source": ["obj-389", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-391", 0],
					"source": ["obj-390", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-387", 0],
					"source": ["obj-391", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-388", 0],
					"source": ["obj-391", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-392", 0],
					"source": ["obj-390", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-392", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-393", 0],
					"source": ["obj-307", 5]
				}
			},
			{
				"patchline": {
					"destination": ["obj-387", 0],
					"source": ["obj-393", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-388", 0],
					"source": ["obj-393", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-387", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-388", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-397", 0],
					"source": ["obj-395", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-397", 0],
					"source": ["obj-396", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-398", 0],
					"source": ["obj-397", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-399", 0],
					"source": ["obj-398", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-395", 0],
					"source": ["obj-399", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-396", 0],
					"source": ["obj-399", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-400", 0],
					"source": ["obj-398", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-400", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-401", 0],
					"source": ["obj-307", 6]
				}
			},
			{
				"patchline": {
					"destination": ["obj-395", 0],
					"source": ["obj-401", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-396", 0],
					"source": ["obj-401", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-395", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-396", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-405", 0],
					"source": ["obj-403", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-405", 0],
					"source": ["obj-404", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-406", 0],
					"source": ["obj-405", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-407", 0],
					"source": ["obj-406", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-403", 0],
					"source": ["obj-407", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-404", 0],
					"source": ["obj-407", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-408", 0],
					"source": ["obj-406", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-408", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-409", 0],
					"source": ["obj-307", 7]
				}
			},
			{
				"patchline": {
					"destination": ["obj-403", 0],
					"source": ["obj-409", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-404", 0],
					"source": ["obj-409", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-403", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-404", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-413", 0],
					"source": ["obj-411", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-413", 0],
					"source": ["obj-412", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-414", 0],
					"source": ["obj-413", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-415", 0],
					"source": ["obj-414", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-411", 0],
					"source": ["obj-415", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-412", 0],
					"source": ["obj-415", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-416", 0],
					"source": ["obj-414", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-416", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-417", 0],
					"source": ["obj-307", 8]
				}
			},
			{
				"patchline": {
					"destination": ["obj-411", 0],
					"source": ["obj-417", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-412", 0],
					"source": ["obj-417", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-411", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-412", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-421", 0],
					"source": ["obj-419", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-421", 0],
					"source": ["obj-420", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-422", 0],
					"source": ["obj-421", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-423", 0],
					"source": ["obj-422", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-419", 0],
					"source": ["obj-423", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-420", 0],
					"source": ["obj-423", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-424", 0],
					"source": ["obj-422", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-424", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-425", 0],
					"source": ["obj-307", 9]
				}
			},
			{
				"patchline": {
					"destination": ["obj-419", 0],
					"source": ["obj-425", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-420", 0],
					"source": ["obj-425", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-419", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-420", 0],
					"source": ["obj-306", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-442", 0],
					"source": ["obj-428", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-443", 0],
					"source": ["obj-430", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-444", 1],
					"source": ["obj-442", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-444", 0],
					"source": ["obj-431", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-445", 0],
					"source": ["obj-444", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-445", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-446", 1],
					"source": ["obj-442", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-446", 0],
					"source": ["obj-435", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-447", 0],
					"source": ["obj-446", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-447", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-448", 1],
					"source": ["obj-442", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-448", 0],
					"source": ["obj-433", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-449", 0],
					"source": ["obj-448", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-449", 1],
					"source": ["obj-443", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-450", 0],
					"source": ["obj-449", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-450", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-451", 0],
					"source": ["obj-438", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-452", 0],
					"source": ["obj-451", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-453", 0],
					"source": ["obj-452", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-455", 1],
					"source": ["obj-453", 1]
				}
			},
			{
				"patchline": {
					"destination": ["obj-454", 0],
					"source": ["obj-453", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-454", 1],
					"source": ["obj-442", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-455", 0],
					"source": ["obj-454", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-456", 0],
					"source": ["obj-455", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-13", 0],
					"source": ["obj-456", 0]
				}
			},
			{
				"patchline": {
					"destination": ["obj-457", 0],
					"source": ["obj-307", 10]
				}
			},
			{
				"patchline": {
					"destination": ["obj-441", 0],
					"source": ["obj-457", 0]
				}
			}
		],
		"dependency_cache": [],
		"autosave": 0
	}
}
